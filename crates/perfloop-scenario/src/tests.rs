//! Scenario files end to end: parsed, validated, rendered by a cursor.

use std::path::{Path, PathBuf};

use super::*;

/// A directory with the given files, removed on drop.
struct Dir(PathBuf);

impl Dir {
    fn new(name: &str, files: &[(&str, &str)]) -> Dir {
        let dir =
            std::env::temp_dir().join(format!("perfloop-scenario-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for (file, text) in files {
            std::fs::write(dir.join(file), text).unwrap();
        }
        Dir(dir)
    }

    fn parse(&self, text: &str) -> Result<Scenario, ScenarioError> {
        Scenario::parse(text, "s.toml", &self.0)
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn parse(text: &str) -> Result<Scenario, ScenarioError> {
    Scenario::parse(text, "s.toml", Path::new("."))
}

/// Renders request `index` after a draw: path, headers and body as text.
fn render(cursor: &mut Cursor<'_>, scenario: &Scenario, index: usize) -> Vec<String> {
    cursor.draw(index);
    let r = &scenario.requests[index];
    let mut out = Vec::new();
    let text = |t: &Template| {
        let mut buf = Vec::new();
        cursor.render(t, &mut buf);
        String::from_utf8(buf).unwrap()
    };
    out.push(text(&r.path));
    for (n, v) in &r.headers {
        out.push(format!("{n}: {}", text(v)));
    }
    out.push(text(&r.body));
    out
}

const SHOP: &str = r#"
think_time = "50ms..150ms"
headers = ["Accept: application/json", "X-Run: shop"]
seed = 7

[[feeder]]
file = "users.csv"

[sequence.order_id]
start = 1000

[random.qty]
min = 1
max = 5

[[request]]
name = "search"
path = "/search?q={{ user }}"
weight = 3

[[request]]
name = "order"
method = "post"
path = "/orders"
headers = ["Content-Type: application/json", "X-Run: order"]
body = '{"user":"{{user}}","pw":"{{password}}","id":{{order_id}},"qty":{{qty}}}'
"#;

#[test]
fn a_scenario_is_read_with_its_defaults() {
    let dir = Dir::new(
        "shop",
        &[("users.csv", "user,password\nann lee,a1\nbob,b2\n")],
    );
    let s = dir.parse(SHOP).unwrap();
    assert_eq!(s.names(), vec!["search", "order"]);
    assert_eq!(s.seed, 7);
    let think = s.think_time.unwrap();
    assert_eq!((think.min.as_millis(), think.max.as_millis()), (50, 150));
    let (search, order) = (&s.requests[0], &s.requests[1]);
    assert_eq!((search.method.as_str(), search.weight), ("GET", 3));
    assert_eq!((order.method.as_str(), order.weight), ("POST", 1));
    assert!(!search.is_fixed() && !order.is_fixed());
    // The request's own header replaces the scenario's of the same name.
    let names: Vec<&str> = order.headers.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, vec!["Accept", "Content-Type", "X-Run"]);
    assert_eq!(order.headers[2].1.fixed().as_deref(), Some("order"));
}

#[test]
fn values_are_drawn_once_per_request_and_rendered() {
    let dir = Dir::new(
        "render",
        &[("users.csv", "user,password\nann lee,a1\nbob,b2\n")],
    );
    let s = dir.parse(SHOP).unwrap();
    let mut c = Cursor::new(&s, 0, 1);
    // Rows in turn, shared by the requests that use the feeder; a row's columns together.
    assert_eq!(render(&mut c, &s, 0)[0], "/search?q=ann%20lee");
    let order = render(&mut c, &s, 1);
    assert!(
        order[4].starts_with(r#"{"user":"bob","pw":"b2","id":1000,"qty":"#),
        "{order:?}"
    );
    assert_eq!(render(&mut c, &s, 0)[0], "/search?q=ann%20lee");
    let again = render(&mut c, &s, 1);
    assert!(again[4].contains(r#""id":1001,"#), "{again:?}");
    for _ in 0..200 {
        let body = render(&mut c, &s, 1).pop().unwrap();
        let qty: i64 = body
            .rsplit("\"qty\":")
            .next()
            .unwrap()
            .trim_end_matches('}')
            .parse()
            .unwrap();
        assert!((1..=5).contains(&qty), "{body}");
    }
    // Two workers share the rows and the sequence out: no value repeats.
    let (mut w0, mut w1) = (Cursor::new(&s, 0, 2), Cursor::new(&s, 1, 2));
    let ids: Vec<String> = (0..3)
        .flat_map(|_| [render(&mut w0, &s, 1).pop(), render(&mut w1, &s, 1).pop()])
        .map(|b| b.unwrap().split("\"id\":").nth(1).unwrap()[..4].to_owned())
        .collect();
    assert_eq!(ids, vec!["1000", "1001", "1002", "1003", "1004", "1005"]);
}

#[test]
fn the_mix_follows_the_weights_exactly_in_every_cycle() {
    let s = parse(
        r#"
[[request]]
name = "a"
path = "/a"
weight = 5
[[request]]
name = "b"
path = "/b"
weight = 3
[[request]]
name = "c"
path = "/c"
"#,
    )
    .unwrap();
    assert!(s.requests.iter().all(Request::is_fixed));
    let mut c = Cursor::new(&s, 0, 1);
    for _ in 0..50 {
        let mut counts = [0; 3];
        for _ in 0..9 {
            counts[c.pick()] += 1;
        }
        assert_eq!(counts, [5, 3, 1]);
    }
    // Smoothly spread: never the same request three times in a row for 5/9.
    let picks: Vec<usize> = (0..9).map(|_| c.pick()).collect();
    assert!(
        picks.windows(3).all(|w| !(w[0] == w[1] && w[1] == w[2])),
        "{picks:?}"
    );
}

#[test]
fn think_time_is_fixed_or_drawn_in_its_range() {
    let s = parse("think_time = \"100ms\"\n[[request]]\nname = \"a\"\npath = \"/\"\n").unwrap();
    let mut c = Cursor::new(&s, 0, 1);
    assert_eq!(c.think().map(|d| d.as_millis()), Some(100));
    let s = parse("think_time = \"1ms..2ms\"\n[[request]]\nname = \"a\"\npath = \"/\"\n").unwrap();
    let mut c = Cursor::new(&s, 0, 1);
    let draws: Vec<u128> = (0..100).map(|_| c.think().unwrap().as_micros()).collect();
    assert!(draws.iter().all(|d| (1000..=2000).contains(d)), "{draws:?}");
    assert!(draws.iter().any(|&d| d != draws[0]));
    let s = parse("[[request]]\nname = \"a\"\npath = \"/\"\n").unwrap();
    assert_eq!(Cursor::new(&s, 0, 1).think(), None);
}

/// Each text fails, its error at `line`:`column` and containing `says`.
fn assert_error_at(dir: &Dir, cases: &[(&str, usize, usize, &str)]) {
    for (text, line, column, says) in cases {
        let e = dir.parse(text).unwrap_err();
        assert_eq!((e.line, e.column), (*line, *column), "{text}\n{e}");
        assert!(
            e.message.contains(says),
            "{text}\nexpected '{says}' in: {e}"
        );
        assert!(
            e.to_string()
                .starts_with(&format!("s.toml:{line}:{column}: ")),
            "{e}"
        );
    }
}

#[test]
fn mistakes_are_errors_with_line_and_column() {
    let dir = Dir::new("errors", &[("users.csv", "user\nann\n")]);
    assert_error_at(
        &dir,
        &[
            // A typo in a field name is an error, not a silent default.
            (
                "[[request]]\nname = \"a\"\npaht = \"/\"\n",
                3,
                1,
                "unknown field `paht`",
            ),
            (
                "thinktime = \"1s\"\n[[request]]\nname = \"a\"\npath = \"/\"\n",
                1,
                1,
                "thinktime",
            ),
            ("seed = 1\n", 1, 1, "missing field `request`"),
            ("request = []\n", 1, 11, "no request"),
            ("[[request]]\nname = \"a\"\n", 2, 8, "needs a `path`"),
            (
                "[[request]]\nname = \"a\"\npath = \"x\"\n",
                3,
                8,
                "must start with `/`",
            ),
            ("[[request]]\nname = \"a\"\npath = \"/a b\"\n", 3, 8, "%20"),
            (
                "[[request]]\nname = \"a\"\npath = \"/{{nope}}\"\n",
                3,
                8,
                "unknown placeholder `{{nope}}`",
            ),
            (
                "[[request]]\nname = \"a\"\npath = \"/{{nope\"\n",
                3,
                8,
                "never closed",
            ),
            (
                "[[request]]\nname = \"a\"\npath = \"/\"\nweight = 0\n",
                4,
                10,
                "weight 0",
            ),
            (
                "[[request]]\nname = \"a\"\npath = \"/\"\nmethod = \"G T\"\n",
                4,
                10,
                "invalid method",
            ),
            (
                "[[request]]\nname = \"a\"\npath = \"/\"\nheaders = [\"Bad Name: x\"]\n",
                4,
                12,
                "invalid header",
            ),
            (
                "[[request]]\nname = \"a\"\npath = \"/\"\n[[request]]\nname = \"a\"\npath = \"/b\"\n",
                5,
                8,
                "two requests are named `a`",
            ),
            (
                "[[request]]\nname = \"a: b\"\npath = \"/\"\n",
                2,
                8,
                "without `:`",
            ),
            (
                "[[request]]\nname = \"a\"\npath = \"/\"\nurl = \"http://x/\"\n",
                4,
                7,
                "both `path` and `url`",
            ),
            (
                "[[request]]\nname = \"a\"\npath = \"/\"\nbody_file = \"missing.json\"\n",
                4,
                13,
                "cannot read `body_file`",
            ),
            (
                "think_time = \"soon\"\n[[request]]\nname = \"a\"\npath = \"/\"\n",
                1,
                14,
                "invalid think_time",
            ),
            (
                "[random.n]\nmin = 5\nmax = 1\n[[request]]\nname = \"a\"\npath = \"/{{n}}\"\n",
                1,
                1,
                "above max",
            ),
            (
                "[[feeder]]\nfile = \"users.csv\"\n[sequence.user]\n[[request]]\nname = \"a\"\npath = \"/\"\n",
                3,
                1,
                "defined twice",
            ),
        ],
    );
}

#[test]
fn feeder_errors_name_the_feeder_file_and_line() {
    let dir = Dir::new(
        "feeders",
        &[
            ("short.csv", "user,password\nann,a\nbob\n"),
            ("empty.csv", ""),
            ("broken.csv", "user,token\nann,\"a\nb\"\n"),
        ],
    );
    let scenario = |file: &str, path: &str, header: &str| {
        format!(
            "[[feeder]]\nfile = \"{file}\"\n[[request]]\nname = \"a\"\npath = \"{path}\"\nheaders = [\"{header}\"]\n"
        )
    };
    let e = dir
        .parse(&scenario("short.csv", "/{{user}}", "X: 1"))
        .unwrap_err();
    assert_eq!((e.file.as_str(), e.line), ("short.csv", 3), "{e}");
    assert!(
        e.message.contains("`password` is missing") && e.message.contains("s.toml:2:8"),
        "{e}"
    );
    let e = dir.parse(&scenario("empty.csv", "/", "X: 1")).unwrap_err();
    assert_eq!((e.file.as_str(), e.line), ("empty.csv", 1), "{e}");
    assert!(e.message.contains("empty"), "{e}");
    let e = dir
        .parse(&scenario("missing.csv", "/", "X: 1"))
        .unwrap_err();
    assert!(e.to_string().starts_with("missing.csv: cannot read"), "{e}");
    // A value with a line break may go in a body or a path (encoded), never a header.
    dir.parse(&scenario("broken.csv", "/{{token}}", "X: 1"))
        .unwrap();
    let e = dir
        .parse(&scenario("broken.csv", "/", "X: {{token}}"))
        .unwrap_err();
    assert_eq!((e.file.as_str(), e.line), ("broken.csv", 2), "{e}");
    assert!(e.message.contains("line break"), "{e}");
}

#[test]
fn a_url_must_name_the_target() {
    let s = parse(
        "[[request]]\nname = \"a\"\nurl = \"http://127.0.0.1:8080/x?{{n}}\"\n[random.n]\nmin = 1\nmax = 2\n",
    )
    .unwrap();
    assert_eq!(s.requests[0].path.context(), Context::Path);
    let target = |u: &str| perfloop_url::TargetUrl::parse(u).unwrap();
    s.check_target(&target("http://127.0.0.1:8080/")).unwrap();
    let e = s
        .check_target(&target("http://127.0.0.1:9090/"))
        .unwrap_err();
    assert_eq!((e.line, e.column), (3, 7), "{e}");
    assert!(
        e.message
            .contains("the run's target is http://127.0.0.1:9090"),
        "{e}"
    );
    let e = parse("[[request]]\nname = \"a\"\nurl = \"http://{{h}}:1/\"\n").unwrap_err();
    assert!(e.message.contains("not in the scheme, host or port"), "{e}");
}

#[test]
fn alert_rules_are_kept_as_written_with_their_places() {
    let dir = Dir::new("alerts", &[]);
    let text = "alerts = [\"p99 > 2x00ms\",\n  'rss > 90% of limit', \"p99 \\u003e 1s\"]\n\
                [[request]]\nname = \"a\"\npath = \"/\"\n";
    let s = dir.parse(text).unwrap();
    let rules: Vec<&str> = s.alerts.iter().map(|a| a.text.as_str()).collect();
    assert_eq!(rules, ["p99 > 2x00ms", "rss > 90% of limit", "p99 > 1s"]);
    let places: Vec<(usize, usize)> = s.alerts.iter().map(|a| (a.at.line, a.at.column)).collect();
    // Inside the quotes; the string with an escape at its opening quote.
    assert_eq!(places, [(1, 12), (2, 4), (2, 25)]);
    // A position in a rule (its parser's) becomes the file's line and column.
    let e = s.alerts[0].error_at(7, "expected a unit".to_string());
    assert_eq!((e.line, e.column), (1, 19));
    assert_eq!(
        text.lines().next().unwrap().chars().nth(e.column - 1),
        Some('x')
    );
    assert_eq!(
        e.to_string(),
        "s.toml:1:19: expected a unit\n  1 | alerts = [\"p99 > 2x00ms\","
    );
    let e = s.alerts[1].error_at(18, "end".to_string());
    assert_eq!((e.line, e.column), (2, 22));
    // With escapes, positions cannot be placed: the string's start.
    let e = s.alerts[2].error_at(5, "odd".to_string());
    assert_eq!((e.line, e.column), (2, 25));
    // A position past the end or inside a character does not move the place oddly.
    let e = s.alerts[0].error_at(100, "past".to_string());
    assert_eq!((e.line, e.column), (1, 12));
    // None given: none kept. Not strings: an error at their place.
    assert!(
        dir.parse("[[request]]\nname = \"a\"\npath = \"/\"\n")
            .unwrap()
            .alerts
            .is_empty()
    );
    assert_error_at(
        &dir,
        &[
            (
                "alerts = [5]\n[[request]]\nname = \"a\"\npath = \"/\"\n",
                1,
                11,
                "invalid type",
            ),
            (
                "alerts = \"p99 > 1s\"\n[[request]]\nname = \"a\"\npath = \"/\"\n",
                1,
                10,
                "invalid type",
            ),
        ],
    );
}
