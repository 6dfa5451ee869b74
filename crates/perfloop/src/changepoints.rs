//! `perfloop changepoints FILE`: the change point detector of `perfloop-stats` on any series
//! of numbers, read from a JSON file `{"values": [...]}` or a file with one number per line
//! (`-` reads standard input); the change points as text, or as JSON with `--json`.

use std::io::Read;

use anyhow::anyhow;
use perfloop_stats::changepoint::{self, ChangePoint, Params};
use serde_json::Value;

use crate::cli::ChangepointsArgs;
use crate::{Exit, Failure};

/// What a series file must look like, for the error messages.
const EXPECTED: &str = "a JSON file {\"values\": [1.0, 2.5, ...]} or one number per line";

/// Runs `perfloop changepoints`.
pub fn run(args: &ChangepointsArgs) -> Result<Exit, Failure> {
    let params = params(args);
    params.validate().map_err(Failure::usage)?;
    let text = read(&args.file)?;
    let values = parse_series(&args.file, &text).map_err(Failure::usage)?;
    let found = changepoint::detect(&values, &params).map_err(Failure::usage)?;
    let out = if args.json {
        render_json(&found)
    } else {
        render_text(values.len(), &params, &found)
    };
    crate::output::stdout_text(&out);
    Ok(Exit::Ok)
}

/// The detector's settings from the flags: Otava's detector with `--otava`, else perfloop's
/// defaults with the flags given.
fn params(args: &ChangepointsArgs) -> Params {
    let base = if args.otava {
        Params::otava(
            changepoint::DEFAULT_WINDOW,
            changepoint::DEFAULT_P_VALUE,
            changepoint::DEFAULT_MAGNITUDE,
        )
    } else {
        Params::default()
    };
    Params {
        window: args.window.unwrap_or(base.window),
        p_value: args.p_value.unwrap_or(base.p_value),
        magnitude: args.magnitude.unwrap_or(base.magnitude),
        min_segment: args.min_segment.unwrap_or(base.min_segment),
        ..base
    }
}

fn read(file: &str) -> Result<String, Failure> {
    let mut bytes = Vec::new();
    let read = if file == "-" {
        std::io::stdin().read_to_end(&mut bytes).map(|_| ())
    } else {
        std::fs::read(file).map(|b| bytes = b)
    };
    read.map_err(|e| Failure::usage(anyhow!("cannot read '{file}': {e}")))?;
    String::from_utf8(bytes)
        .map_err(|_| Failure::usage(anyhow!("'{file}' is not text; expected {EXPECTED}")))
}

/// The series in `text` (JSON when it starts with `{`, else one number per line); errors
/// name the file and the line or the JSON path.
fn parse_series(file: &str, text: &str) -> anyhow::Result<Vec<f64>> {
    let values = if text.trim_start().starts_with('{') {
        parse_json(file, text)?
    } else {
        parse_lines(file, text)?
    };
    if values.is_empty() {
        return Err(anyhow!("'{file}' holds no values; expected {EXPECTED}"));
    }
    Ok(values)
}

fn parse_json(file: &str, text: &str) -> anyhow::Result<Vec<f64>> {
    let doc: Value = serde_json::from_str(text)
        .map_err(|e| anyhow!("'{file}' is not valid JSON ({e}); expected {EXPECTED}"))?;
    let Some(values) = doc.get("values") else {
        return Err(anyhow!("'{file}': no $.values; expected {EXPECTED}"));
    };
    let Some(values) = values.as_array() else {
        return Err(anyhow!(
            "'{file}': $.values is {values}, not an array; expected {EXPECTED}"
        ));
    };
    values
        .iter()
        .enumerate()
        .map(|(i, v)| match v.as_f64() {
            Some(x) if x.is_finite() => Ok(x),
            _ => Err(anyhow!(
                "'{file}': $.values[{i}] is {v}, not a number; expected {EXPECTED}"
            )),
        })
        .collect()
}

fn parse_lines(file: &str, text: &str) -> anyhow::Result<Vec<f64>> {
    let mut values = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let field = line.trim();
        if field.is_empty() {
            continue;
        }
        match field.parse::<f64>() {
            Ok(x) if x.is_finite() => values.push(x),
            _ => {
                return Err(anyhow!(
                    "'{file}' line {}: '{field}' is not a number; expected {EXPECTED}",
                    i + 1
                ));
            }
        }
    }
    Ok(values)
}

/// A JSON number (shortest form that reads back the same).
fn json_number(x: f64) -> String {
    Value::from(x).to_string()
}

/// `{"change_points": [{"index": I, "before": MEAN, "after": MEAN, "p_value": P}, ...]}`,
/// one change point per line.
fn render_json(found: &[ChangePoint]) -> String {
    let rows: Vec<String> = found
        .iter()
        .map(|c| {
            format!(
                "  {{\"index\": {}, \"before\": {}, \"after\": {}, \"p_value\": {}}}",
                c.index,
                json_number(c.before),
                json_number(c.after),
                json_number(c.p_value)
            )
        })
        .collect();
    if rows.is_empty() {
        "{\"change_points\": []}\n".to_string()
    } else {
        format!("{{\"change_points\": [\n{}\n]}}\n", rows.join(",\n"))
    }
}

/// A mean as text: six significant digits, no exponent for everyday magnitudes.
fn figure(x: f64) -> String {
    let magnitude = x.abs();
    if magnitude != 0.0 && !(1e-3..1e9).contains(&magnitude) {
        return format!("{x:.4e}");
    }
    let digits = if magnitude >= 1.0 {
        magnitude.log10().floor() as i32 + 1
    } else {
        0
    };
    let decimals = (6 - digits).clamp(0, 6) as usize;
    let text = format!("{x:.decimals$}");
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        text
    }
}

fn render_text(n: usize, params: &Params, found: &[ChangePoint]) -> String {
    let mut out = format!(
        "{} change point{} in {n} values (window {}, p-value < {}, magnitude > {}, \
         segments of {} or more)\n",
        found.len(),
        if found.len() == 1 { "" } else { "s" },
        params.window,
        params.p_value,
        params.magnitude,
        params.min_segment,
    );
    if found.is_empty() {
        return out;
    }
    out.push_str(&format!(
        "\n{:>8}  {:>14}  {:>14}  {:>9}  {:>9}\n",
        "index", "before", "after", "change", "p-value"
    ));
    for c in found {
        let change = c
            .change()
            .map_or_else(|| "–".to_string(), |r| format!("{:+.1}%", r * 100.0));
        out.push_str(&format!(
            "{:>8}  {:>14}  {:>14}  {:>9}  {:>9.2e}\n",
            c.index,
            figure(c.before),
            figure(c.after),
            change,
            c.p_value
        ));
    }
    out.push_str("\nindex: the first point of the new level (0-based)\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_and_json_read_the_same_series() {
        let lines = parse_series("a.csv", "1\n2.5\n\n-3e2\r\n").ok();
        let json = parse_series("a.json", " {\"values\": [1, 2.5, -300]}").ok();
        assert_eq!(lines, Some(vec![1.0, 2.5, -300.0]));
        assert_eq!(json, lines);
    }

    #[test]
    fn bad_series_name_the_line_or_the_path() {
        let err = |file: &str, text: &str| {
            parse_series(file, text)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default()
        };
        assert!(err("a.csv", "1\n2\nabc\n").contains("'a.csv' line 3: 'abc' is not a number"));
        assert!(err("a.csv", "1\nNaN\n").contains("line 2: 'NaN'"));
        assert!(err("a.csv", "1,2\n").contains("line 1: '1,2'"));
        assert!(err("a.csv", "\n  \n").contains("holds no values"));
        assert!(err("a.json", "{\"values\": []}").contains("holds no values"));
        assert!(err("a.json", "{\"values\": [1, \"2\"]}").contains("$.values[1] is \"2\""));
        assert!(err("a.json", "{\"values\": [1, null]}").contains("$.values[1] is null"));
        assert!(err("a.json", "{\"value\": [1]}").contains("no $.values"));
        assert!(err("a.json", "{\"values\": 3}").contains("$.values is 3, not an array"));
        assert!(err("a.json", "{\"values\": [1,").contains("is not valid JSON"));
    }

    #[test]
    fn json_output_has_the_four_fields_in_order() {
        let found = [ChangePoint {
            index: 15,
            before: 26_612.5,
            after: 23_650.0,
            p_value: 3.2e-22,
        }];
        assert_eq!(
            render_json(&found),
            "{\"change_points\": [\n  {\"index\": 15, \"before\": 26612.5, \"after\": 23650.0, \
             \"p_value\": 3.2e-22}\n]}\n"
        );
        assert_eq!(render_json(&[]), "{\"change_points\": []}\n");
    }

    #[test]
    fn figures_keep_six_significant_digits() {
        assert_eq!(figure(26_612.933_33), "26612.9");
        assert_eq!(figure(0.506), "0.506");
        assert_eq!(figure(12.0), "12");
        assert_eq!(figure(0.0), "0");
        assert_eq!(figure(1.5e-7), "1.5000e-7");
    }
}
