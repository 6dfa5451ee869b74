//! The Prometheus text exposition format (version 0.0.4), parsed into samples.
//!
//! Each sample line `name{label="value",...} value [timestamp]` becomes a [`PromSample`];
//! `# HELP` and `# TYPE` lines are checked, and the type is attached to the samples of its
//! family, including the derived series of histograms (`_bucket`, `_sum`, `_count`) and
//! summaries (`_sum`, `_count`); other `#` lines are comments. Label values unescape
//! `\\`, `\"` and `\n`. Values are Go-style floats (`NaN`, `+Inf`, `-Inf`, exponents).
//! The parser also accepts what OpenMetrics text adds and a Prometheus server accepts in
//! this format: `# EOF`, exemplars after the value (ignored), float timestamps and
//! quoted UTF-8 metric names (`{"my.metric",label="x"} 1`).
//!
//! It is written here rather than taken from a crate: `prometheus-parse` (0.2.5) splits
//! label sets on `,` and `=` without regard to quoting, so a label value holding a comma,
//! an equals sign, a `}` or an escaped quote is silently mangled, and it brings `chrono`
//! and `itertools` along. A malformed line fails the whole text with its line number,
//! as a Prometheus server fails the scrape.

use std::collections::HashMap;
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

/// The type a `# TYPE` line gives a metric family.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MetricKind {
    /// A monotonic counter.
    Counter,
    /// A value that goes up and down.
    Gauge,
    /// A histogram: `_bucket{le=...}`, `_sum` and `_count` series.
    Histogram,
    /// An OpenMetrics gauge histogram: `_bucket`, `_gsum` and `_gcount` series.
    GaugeHistogram,
    /// A summary: quantile series, `_sum` and `_count`.
    Summary,
    /// An OpenMetrics info metric (`_info`).
    Info,
    /// An OpenMetrics state set.
    StateSet,
    /// No `# TYPE` line, or `untyped`/`unknown`.
    #[default]
    Untyped,
}

impl MetricKind {
    fn parse(s: &str) -> Option<MetricKind> {
        Some(match s {
            "counter" => MetricKind::Counter,
            "gauge" => MetricKind::Gauge,
            "histogram" => MetricKind::Histogram,
            "gaugehistogram" => MetricKind::GaugeHistogram,
            "summary" => MetricKind::Summary,
            "info" => MetricKind::Info,
            "stateset" => MetricKind::StateSet,
            "untyped" | "unknown" => MetricKind::Untyped,
            _ => return None,
        })
    }

    /// The series-name suffixes this kind of family exposes besides its own name.
    fn suffixes(self) -> &'static [&'static str] {
        match self {
            MetricKind::Counter => &["_total", "_created"],
            MetricKind::Histogram => &["_bucket", "_sum", "_count", "_created"],
            MetricKind::GaugeHistogram => &["_bucket", "_gsum", "_gcount"],
            MetricKind::Summary => &["_sum", "_count", "_created"],
            MetricKind::Info => &["_info"],
            _ => &[],
        }
    }
}

/// One sample of an exposition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PromSample {
    /// The series name, with any suffix (`http_request_duration_seconds_bucket`).
    pub name: String,
    /// Labels in the order written, values unescaped.
    pub labels: Vec<(String, String)>,
    /// The value (`"NaN"`, `"+Inf"`, `"-Inf"` as strings in JSON).
    #[serde(with = "float_text")]
    pub value: f64,
    /// The timestamp as written, if any: milliseconds since the epoch in this format,
    /// seconds in OpenMetrics.
    pub timestamp: Option<f64>,
    /// The type of the family the series belongs to.
    pub kind: MetricKind,
}

impl PromSample {
    /// The series identity, `name{a="x",b="y"}` with labels sorted by name and values
    /// escaped as in the format; just `name` without labels. Scrape match expressions are
    /// matched against it.
    pub fn series_key(&self) -> String {
        let mut key = self.name.clone();
        if self.labels.is_empty() {
            return key;
        }
        let mut labels: Vec<&(String, String)> = self.labels.iter().collect();
        labels.sort();
        key.push('{');
        for (i, (k, v)) in labels.into_iter().enumerate() {
            if i > 0 {
                key.push(',');
            }
            let _ = write!(key, "{k}=\"");
            for c in v.chars() {
                match c {
                    '\\' => key.push_str("\\\\"),
                    '"' => key.push_str("\\\""),
                    '\n' => key.push_str("\\n"),
                    c => key.push(c),
                }
            }
            key.push('"');
        }
        key.push('}');
        key
    }
}

/// A line of exposition text that could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct ParseError {
    /// 1-based line number.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

/// Parses exposition text into its samples, in order.
pub fn parse_text(text: &str) -> Result<Vec<PromSample>, ParseError> {
    let mut kinds: HashMap<String, MetricKind> = HashMap::new();
    let mut samples = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let fail = |message: String| ParseError {
            line: i + 1,
            message,
        };
        let line = raw.trim_matches(|c| c == ' ' || c == '\t' || c == '\r');
        if line.is_empty() {
            continue;
        }
        if let Some(comment) = line.strip_prefix('#') {
            let mut words = comment.split_ascii_whitespace();
            match words.next() {
                Some("TYPE") => {
                    let (Some(name), Some(kind)) = (words.next(), words.next()) else {
                        return Err(fail("# TYPE needs a metric name and a type".into()));
                    };
                    check_name(name).map_err(&fail)?;
                    let kind = MetricKind::parse(kind)
                        .ok_or_else(|| fail(format!("unknown metric type {kind:?}")))?;
                    kinds.insert(name.to_owned(), kind);
                }
                Some("HELP") => {
                    let name = words
                        .next()
                        .ok_or_else(|| fail("# HELP needs a metric name".into()))?;
                    check_name(name).map_err(&fail)?;
                }
                Some("EOF") => break,
                _ => {}
            }
            continue;
        }
        let mut sample = parse_sample(line).map_err(fail)?;
        sample.kind = kind_of(&kinds, &sample.name);
        samples.push(sample);
    }
    Ok(samples)
}

/// The kind of the family `name` belongs to: its own `# TYPE`, or that of the name
/// without a suffix the family's kind exposes.
fn kind_of(kinds: &HashMap<String, MetricKind>, name: &str) -> MetricKind {
    if let Some(&k) = kinds.get(name) {
        return k;
    }
    for suffix in [
        "_bucket", "_sum", "_count", "_total", "_created", "_gsum", "_gcount", "_info",
    ] {
        if let Some(&k) = name.strip_suffix(suffix).and_then(|base| kinds.get(base)) {
            if k.suffixes().contains(&suffix) {
                return k;
            }
        }
    }
    MetricKind::Untyped
}

fn check_name(name: &str) -> Result<(), String> {
    let ok = name.bytes().enumerate().all(|(i, b)| {
        b.is_ascii_alphabetic() || b == b'_' || b == b':' || (i > 0 && b.is_ascii_digit())
    });
    if ok && !name.is_empty() {
        Ok(())
    } else {
        Err(format!("invalid metric name {name:?}"))
    }
}

/// A cursor over one sample line.
struct Cursor<'a> {
    s: &'a str,
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn peek(&self) -> Option<u8> {
        self.s.as_bytes().get(self.pos).copied()
    }

    fn skip_blanks(&mut self) -> bool {
        let start = self.pos;
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.pos += 1;
        }
        self.pos > start
    }

    fn eat(&mut self, b: u8) -> bool {
        if self.peek() == Some(b) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn take_while(&mut self, f: impl Fn(usize, u8) -> bool) -> &'a str {
        let start = self.pos;
        while let Some(b) = self.peek() {
            if !f(self.pos - start, b) {
                break;
            }
            self.pos += 1;
        }
        &self.s[start..self.pos]
    }

    fn name(&mut self) -> &'a str {
        self.take_while(|i, b| {
            b.is_ascii_alphabetic() || b == b'_' || b == b':' || (i > 0 && b.is_ascii_digit())
        })
    }

    fn label_name(&mut self) -> &'a str {
        self.take_while(|i, b| {
            b.is_ascii_alphabetic() || b == b'_' || (i > 0 && b.is_ascii_digit())
        })
    }

    fn token(&mut self) -> &'a str {
        self.take_while(|_, b| b != b' ' && b != b'\t')
    }

    /// A double-quoted string with `\\`, `\"` and `\n` escapes; the cursor is on the `"`.
    fn quoted(&mut self) -> Result<String, String> {
        if !self.eat(b'"') {
            return Err("expected '\"'".into());
        }
        let mut out = String::new();
        let mut chars = self.s[self.pos..].char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                '"' => {
                    self.pos += i + 1;
                    return Ok(out);
                }
                '\\' => match chars.next() {
                    Some((_, 'n')) => out.push('\n'),
                    Some((_, '\\')) => out.push('\\'),
                    Some((_, '"')) => out.push('"'),
                    // Unknown escapes are kept as written, as the Go parser does.
                    Some((_, other)) => {
                        out.push('\\');
                        out.push(other);
                    }
                    None => break,
                },
                c => out.push(c),
            }
        }
        Err("unterminated quoted string".into())
    }
}

fn parse_sample(line: &str) -> Result<PromSample, String> {
    let mut c = Cursor { s: line, pos: 0 };
    let mut name = c.name().to_owned();
    let mut labels = Vec::new();
    let mut blank = c.skip_blanks();
    if c.eat(b'{') {
        parse_labels(&mut c, &mut name, &mut labels)?;
        blank = c.skip_blanks();
    }
    if name.is_empty() {
        return Err("expected a metric name".into());
    }
    if !blank {
        return Err(format!("expected a space and a value after {name:?}"));
    }
    let value_text = c.token();
    let value = parse_float(value_text).ok_or_else(|| format!("invalid value {value_text:?}"))?;
    c.skip_blanks();
    let mut timestamp = None;
    if c.peek().is_some_and(|b| b != b'#') {
        let ts = c.token();
        timestamp = Some(
            ts.parse::<f64>()
                .map_err(|_| format!("invalid timestamp {ts:?}"))?,
        );
        c.skip_blanks();
    }
    // What may follow is an OpenMetrics exemplar (`# {trace_id="..."} 1.0`), ignored.
    if c.peek().is_some_and(|b| b != b'#') {
        return Err(format!("unexpected text {:?}", &line[c.pos..]));
    }
    Ok(PromSample {
        name,
        labels,
        value,
        timestamp,
        kind: MetricKind::Untyped,
    })
}

/// The label set after `{`, up to and including `}`. A quoted item without `=` is the
/// metric name (the quoted UTF-8 form).
fn parse_labels(
    c: &mut Cursor<'_>,
    name: &mut String,
    labels: &mut Vec<(String, String)>,
) -> Result<(), String> {
    loop {
        c.skip_blanks();
        if c.eat(b'}') {
            return Ok(());
        }
        let key = if c.peek() == Some(b'"') {
            c.quoted()?
        } else {
            let k = c.label_name();
            if k.is_empty() {
                return Err(format!("invalid label name at {:?}", &c.s[c.pos..]));
            }
            k.to_owned()
        };
        c.skip_blanks();
        if c.eat(b'=') {
            c.skip_blanks();
            let value = c.quoted().map_err(|e| format!("label {key:?}: {e}"))?;
            labels.push((key, value));
        } else if name.is_empty() {
            *name = key;
        } else {
            return Err(format!("expected '=' after label {key:?}"));
        }
        c.skip_blanks();
        if c.eat(b'}') {
            return Ok(());
        }
        if !c.eat(b',') {
            return Err("expected ',' or '}' in the label set".into());
        }
    }
}

/// A Go-style float: decimal with optional exponent, or `NaN`, `Inf`, `+Inf`, `-Inf` in
/// any case.
fn parse_float(s: &str) -> Option<f64> {
    let bare = s.strip_prefix(['+', '-']).unwrap_or(s);
    if bare.is_empty() || !(bare.as_bytes()[0].is_ascii_digit() || bare.starts_with('.')) {
        let negative = s.starts_with('-');
        return match bare.to_ascii_lowercase().as_str() {
            "nan" => Some(f64::NAN),
            "inf" | "infinity" if negative => Some(f64::NEG_INFINITY),
            "inf" | "infinity" => Some(f64::INFINITY),
            _ => None,
        };
    }
    s.parse().ok()
}

/// Serialises a float as a JSON number when finite and as `"NaN"`, `"+Inf"` or `"-Inf"`
/// otherwise (JSON has no such numbers), as the Prometheus HTTP API does.
pub(crate) mod float_text {
    use serde::de::{self, Visitor};
    use serde::{Deserializer, Serializer};

    /// Serialises `v`.
    pub(crate) fn serialize<S: Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
        if v.is_nan() {
            s.serialize_str("NaN")
        } else if v.is_infinite() {
            s.serialize_str(if *v > 0.0 { "+Inf" } else { "-Inf" })
        } else {
            s.serialize_f64(*v)
        }
    }

    /// Deserialises a number, a float string, or `null` (NaN).
    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = f64;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a number, \"NaN\", \"+Inf\" or \"-Inf\"")
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<f64, E> {
                Ok(v)
            }
            #[allow(clippy::cast_precision_loss)]
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<f64, E> {
                Ok(v as f64)
            }
            #[allow(clippy::cast_precision_loss)]
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<f64, E> {
                Ok(v as f64)
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<f64, E> {
                super::parse_float(v).ok_or_else(|| E::custom(format!("invalid float {v:?}")))
            }
            fn visit_unit<E: de::Error>(self) -> Result<f64, E> {
                Ok(f64::NAN)
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn one(line: &str) -> PromSample {
        let mut v = parse_text(line).unwrap();
        assert_eq!(v.len(), 1);
        v.remove(0)
    }

    #[test]
    fn plain_and_labelled_samples() {
        let s = one("up 1");
        assert_eq!((s.name.as_str(), s.value, s.labels.len()), ("up", 1.0, 0));
        let s = one("http_requests_total{method=\"post\",code=\"200\"} 1027 1395066363000");
        assert_eq!(s.labels[1], ("code".into(), "200".into()));
        assert_eq!(s.timestamp, Some(1_395_066_363_000.0));
        assert_eq!(
            s.series_key(),
            "http_requests_total{code=\"200\",method=\"post\"}"
        );
    }

    #[test]
    fn escapes_and_awkward_characters_in_label_values() {
        let s = one(
            r#"msdos_file_access_time_seconds{path="C:\\DIR\\FILE.TXT",error="Cannot find file:\n\"FILE.TXT\""} 1.458255915e9"#,
        );
        assert_eq!(s.labels[0].1, "C:\\DIR\\FILE.TXT");
        assert_eq!(s.labels[1].1, "Cannot find file:\n\"FILE.TXT\"");
        assert_eq!(s.value, 1.458_255_915e9);
        let s = one(r#"x{q="a,b=c}d", r="} "} 2"#);
        assert_eq!(s.labels[0].1, "a,b=c}d");
        assert_eq!(s.labels[1].1, "} ");
        // The key escapes again, so it reads as the exposition does.
        assert_eq!(
            one(r#"y{v="say \"hi\""} 1"#).series_key(),
            r#"y{v="say \"hi\""}"#
        );
    }

    #[test]
    fn special_floats_and_trailing_comma() {
        assert!(one("a NaN").value.is_nan());
        assert_eq!(one("a +Inf").value, f64::INFINITY);
        assert_eq!(one("a -Inf").value, f64::NEG_INFINITY);
        assert_eq!(one("a{le=\"+Inf\",} 3").labels[0].1, "+Inf");
        assert_eq!(one("a -1.5e-3").value, -0.0015);
        assert_eq!(one("a\t\t7").value, 7.0);
    }

    #[test]
    fn openmetrics_extras() {
        let v = parse_text(
            "# TYPE foo counter\nfoo_total 17.0 1520879607.789 # {id=\"c\"} 1.0\n\
             {\"my.dotted.metric\",env=\"prod\"} 3\n# EOF\nignored 1\n",
        )
        .unwrap();
        assert_eq!(v.len(), 2);
        assert_eq!(v[0].kind, MetricKind::Counter);
        assert_eq!(v[0].timestamp, Some(1_520_879_607.789));
        assert_eq!(v[1].name, "my.dotted.metric");
        assert_eq!(v[1].labels, vec![("env".into(), "prod".into())]);
    }

    #[test]
    fn families_give_their_type_to_derived_series() {
        let v = parse_text(
            "# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_sum 2\nh_count 1\n\
             # TYPE s summary\ns{quantile=\"0.5\"} 1\ns_sum 1\ns_count 1\ns_bucket 9\n",
        )
        .unwrap();
        let kinds: Vec<MetricKind> = v.iter().map(|s| s.kind).collect();
        use MetricKind::*;
        assert_eq!(
            kinds,
            vec![
                Histogram, Histogram, Histogram, Summary, Summary, Summary, Untyped
            ]
        );
    }

    #[test]
    fn malformed_lines_fail_with_their_number() {
        for (text, line) in [
            ("ok 1\nbad{a=\"1\" 2\n", 2),
            ("a{b=1} 2", 1),
            ("a{b=\"1} 2", 1),
            ("a", 1),
            ("a one", 1),
            ("a 1 2 3", 1),
            ("1a 1", 1),
            ("# TYPE a sometype\n", 1),
            ("\n\n# TYPE\n", 3),
        ] {
            let e = parse_text(text).unwrap_err();
            assert_eq!(e.line, line, "{text:?}: {e}");
        }
    }

    #[test]
    fn floats_round_trip_through_json_text() {
        #[derive(Serialize, Deserialize)]
        struct W(#[serde(with = "float_text")] f64);
        for v in [1.5, f64::INFINITY, f64::NEG_INFINITY] {
            let json = serde_json::to_string(&W(v)).unwrap();
            assert_eq!(serde_json::from_str::<W>(&json).unwrap().0, v);
        }
        let json = serde_json::to_string(&W(f64::NAN)).unwrap();
        assert_eq!(json, "\"NaN\"");
        assert!(serde_json::from_str::<W>(&json).unwrap().0.is_nan());
    }
}
