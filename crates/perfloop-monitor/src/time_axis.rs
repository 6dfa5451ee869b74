//! The run's time axis: `t_s`, seconds since an origin shared with the load engine, on
//! which the samples and the scraped points are stamped.

use std::time::Instant;

/// Seconds from `origin` to `t`, negative when `t` is earlier.
pub(crate) fn seconds_since(origin: Instant, t: Instant) -> f64 {
    match t.checked_duration_since(origin) {
        Some(d) => d.as_secs_f64(),
        None => -origin.duration_since(t).as_secs_f64(),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn time_axis_is_signed() {
        let origin = Instant::now() + Duration::from_secs(2);
        let t = seconds_since(origin, Instant::now());
        assert!(t < -1.9 && t > -2.1, "{t}");
        assert!(seconds_since(Instant::now() - Duration::from_secs(1), Instant::now()) >= 1.0);
    }
}
