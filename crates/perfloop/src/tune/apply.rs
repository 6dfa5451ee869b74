//! `--apply FILE`: the best configuration written where the target reads its settings, as
//! JSON (an object of knob values), TOML (`knob = value` lines) or an env file
//! (`NAME=value` lines).
//!
//! The env file names each knob as the study's `env` table does (`MATCH_CACHE = "{cache}"`
//! writes `MATCH_CACHE=…`); a knob the table does not set is written under its name in
//! capitals. The file is replaced atomically: written next to it, then renamed.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, anyhow};
use perfloop_target::CommandTemplate;
use perfloop_tune::{Config, Study};

use super::trial::knobs_of;
use crate::Failure;

/// The format of an `--apply` file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// A JSON object.
    Json,
    /// TOML key/value lines.
    Toml,
    /// `NAME=value` lines.
    Env,
}

impl Format {
    /// The format named by `--apply-format`, or else by the file's extension.
    pub fn of(path: &Path, named: Option<&str>) -> Result<Format, Failure> {
        let name = match named {
            Some(n) => n.to_ascii_lowercase(),
            None => {
                let file = path
                    .file_name()
                    .map(|f| f.to_string_lossy().to_ascii_lowercase());
                match file.as_deref() {
                    Some(".env") => "env".to_string(),
                    Some(f) => f
                        .rsplit_once('.')
                        .map(|(_, e)| e.to_string())
                        .unwrap_or_default(),
                    None => String::new(),
                }
            }
        };
        match name.as_str() {
            "json" => Ok(Format::Json),
            "toml" => Ok(Format::Toml),
            "env" => Ok(Format::Env),
            _ => Err(Failure::usage(anyhow!(
                "cannot tell the format of --apply '{}'{}: expected json, toml or env (a .json, \
                 .toml or .env file, or --apply-format)",
                path.display(),
                named
                    .map(|n| format!(" (--apply-format {n})"))
                    .unwrap_or_default()
            ))),
        }
    }
}

/// The text of the file.
pub fn render(study: &Study, config: &Config, format: Format) -> Result<String, Failure> {
    match format {
        Format::Json => serde_json::to_string_pretty(config)
            .map(|s| s + "\n")
            .map_err(|e| Failure::run(anyhow!("cannot encode the configuration: {e}"))),
        Format::Toml => Ok(ordered(study, config)
            .map(|(name, value)| {
                let value = match value {
                    perfloop_tune::Value::Str(s) => toml_string(s),
                    other => other.to_string(),
                };
                format!("{} = {value}\n", toml_key(name))
            })
            .collect()),
        Format::Env => {
            let knobs = knobs_of(config, None);
            let mut lines: Vec<(String, String)> = Vec::new();
            let mut covered: Vec<&str> = Vec::new();
            for (name, template) in study.target.env() {
                let Ok(t) = CommandTemplate::parse(template) else {
                    continue;
                };
                let uses = t.placeholders();
                if !uses.iter().all(|p| knobs.contains_key(*p)) {
                    continue;
                }
                if let Ok(value) = t.shell_text(&knobs) {
                    covered.extend(
                        uses.iter()
                            .filter_map(|u| config.get_key_value(*u).map(|(k, _)| k.as_str())),
                    );
                    lines.push((name.clone(), value));
                }
            }
            for (name, value) in ordered(study, config) {
                if !covered.contains(&name) {
                    lines.push((env_name(name), value.to_string()));
                }
            }
            Ok(lines
                .into_iter()
                .map(|(k, v)| format!("{k}={}\n", env_value(&v)))
                .collect())
        }
    }
}

/// Writes the file atomically.
pub fn write(path: &Path, text: &str) -> Result<(), Failure> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temp = dir.join(format!(".{name}.perfloop-{}", std::process::id()));
    std::fs::write(&temp, text)
        .and_then(|()| std::fs::rename(&temp, path))
        .with_context(|| format!("cannot write --apply '{}'", path.display()))
        .map_err(|e| {
            let _ = std::fs::remove_file(&temp);
            Failure::run(e)
        })
}

/// The knobs in the study's order.
fn ordered<'a>(
    study: &'a Study,
    config: &'a Config,
) -> impl Iterator<Item = (&'a str, &'a perfloop_tune::Value)> {
    study
        .space
        .knobs()
        .iter()
        .filter_map(|k| config.get(&k.name).map(|v| (k.name.as_str(), v)))
}

fn toml_key(name: &str) -> String {
    if name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        name.to_string()
    } else {
        toml_string(name)
    }
}

fn toml_string(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| format!("\"{s}\""))
}

fn env_name(knob: &str) -> String {
    knob.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect()
}

/// A value as an env file line takes it: bare when safe, else in single quotes.
fn env_value(v: &str) -> String {
    let safe = !v.is_empty()
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || "_.,:/+-@%".contains(c));
    if safe {
        v.to_string()
    } else {
        format!("'{}'", v.replace('\'', r"'\''"))
    }
}

/// The applied configuration, for the summary.
pub fn describe(config: &BTreeMap<String, serde_json::Value>) -> String {
    config
        .iter()
        .map(|(k, v)| {
            format!(
                "{k}={}",
                v.as_str().map_or_else(|| v.to_string(), str::to_owned)
            )
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use perfloop_tune::Value;

    const STUDY: &str = r#"
name = "s"
[target]
command = "server --port {port} --workers {workers}"
env = { APP_MODE = "{mode}", APP_LABEL = "tuned {mode} x{workers}" }
[knobs.workers]
type = "int"
low = 1
high = 16
default = 4
[knobs.mode]
type = "categorical"
values = ["fast path", "it's"]
default = "fast path"
[knobs.ratio]
type = "float"
low = 0.1
high = 0.9
default = 0.5
[knobs.cache]
type = "bool"
default = true
[workload]
load = { url = "http://127.0.0.1:{port}/?r={ratio}&c={cache}" }
[objective]
maximize = "throughput"
[budget]
trials = 4
"#;

    fn config() -> Config {
        Config::from([
            ("workers".to_string(), Value::Int(8)),
            ("mode".to_string(), Value::Str("it's".into())),
            ("ratio".to_string(), Value::Float(0.25)),
            ("cache".to_string(), Value::Bool(false)),
        ])
    }

    #[test]
    fn formats_come_from_the_extension_or_the_flag() {
        let f = |p: &str, n: Option<&str>| Format::of(Path::new(p), n).ok();
        assert_eq!(f("best.json", None), Some(Format::Json));
        assert_eq!(f("dir/app.TOML", None), Some(Format::Toml));
        assert_eq!(f(".env", None), Some(Format::Env));
        assert_eq!(f("prod.env", None), Some(Format::Env));
        assert_eq!(f("settings", Some("toml")), Some(Format::Toml));
        let e = Format::of(Path::new("best.yaml"), None).err().unwrap();
        assert!(e.error.to_string().contains("'best.yaml'"), "{}", e.error);
        assert_eq!(e.exit, crate::Exit::Usage);
    }

    #[test]
    fn each_format_reads_back() {
        let study = Study::parse(STUDY).unwrap();
        let json = render(&study, &config(), Format::Json).unwrap();
        let back: Config = serde_json::from_str(&json).unwrap();
        assert_eq!(back, config());

        let toml_text = render(&study, &config(), Format::Toml).unwrap();
        assert_eq!(
            toml_text,
            "workers = 8\nmode = \"it's\"\nratio = 0.25\ncache = false\n"
        );
        let table: toml::Table = toml::from_str(&toml_text).unwrap();
        assert_eq!(table["workers"].as_integer(), Some(8));
        assert_eq!(table["cache"].as_bool(), Some(false));

        let env = render(&study, &config(), Format::Env).unwrap();
        assert_eq!(
            env,
            "APP_LABEL='tuned it'\\''s x8'\nAPP_MODE='it'\\''s'\nRATIO=0.25\nCACHE=false\n"
        );
        // The shell reads the quoted values back as they were.
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!("{env}printf '%s|%s' \"$APP_MODE\" \"$APP_LABEL\""))
            .output()
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout), "it's|tuned it's x8");
    }

    #[test]
    fn write_replaces_the_file() {
        let dir = std::env::temp_dir().join(format!("perfloop-apply-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("best.json");
        std::fs::write(&path, "old").unwrap();
        write(&path, "{}\n").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "{}\n");
        let leftovers = std::fs::read_dir(&dir).unwrap().count();
        assert_eq!(leftovers, 1);
        let e = write(&dir.join("missing/best.json"), "{}").unwrap_err();
        assert!(e.error.to_string().contains("missing/best.json"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
