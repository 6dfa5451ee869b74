//! Figures written into findings: numbers with as many digits as a reader needs, percentages,
//! lists of steps, and evidence rows.

use perfloop_report::Evidence;

/// A number with about three significant digits: `1234`, `56.7`, `8.9`, `0.12`, `3.4e-5`.
pub(crate) fn num(v: f64) -> String {
    if !v.is_finite() {
        return v.to_string();
    }
    let a = v.abs();
    let text = if a == 0.0 {
        return "0".to_owned();
    } else if a >= 100.0 {
        format!("{v:.0}")
    } else if a >= 10.0 {
        format!("{v:.1}")
    } else if a >= 0.01 {
        format!("{v:.2}")
    } else {
        return format!("{v:.1e}");
    };
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        text
    }
}

/// A fraction as a percentage: `0.123` → `12.3 %`.
pub(crate) fn pct(fraction: f64) -> String {
    format!("{} %", num(fraction * 100.0))
}

/// `step 3`, `steps 3 and 5`, `steps 1, 2 and 4`.
pub(crate) fn steps(indices: &[usize]) -> String {
    let names: Vec<String> = indices.iter().map(usize::to_string).collect();
    match names.as_slice() {
        [] => "no step".to_owned(),
        [one] => format!("step {one}"),
        [init @ .., last] => format!("steps {} and {last}", init.join(", ")),
    }
}

/// An evidence row.
pub(crate) fn evidence(label: &str, value: f64, unit: &str, step: Option<usize>) -> Evidence {
    Evidence {
        label: label.to_owned(),
        value,
        unit: unit.to_owned(),
        step,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_keep_about_three_digits() {
        assert_eq!(num(1234.4), "1234");
        assert_eq!(num(56.74), "56.7");
        assert_eq!(num(8.0), "8");
        assert_eq!(num(0.1234), "0.12");
        assert_eq!(num(0.0), "0");
        assert_eq!(num(-2.5), "-2.5");
        assert_eq!(num(3.4e-5), "3.4e-5");
        assert_eq!(pct(0.123), "12.3 %");
        assert_eq!(steps(&[]), "no step");
        assert_eq!(steps(&[3]), "step 3");
        assert_eq!(steps(&[1, 2, 4]), "steps 1, 2 and 4");
    }
}
