//! Named load levels: the four stress-test levels (small, medium, large, extreme) that the
//! matching system's test framework ran, as documented presets.
//!
//! | level   | model  | load                                   | warm-up | measured |
//! |---------|--------|----------------------------------------|---------|----------|
//! | smoke   | closed | 2 connections                          | none    | 5 s      |
//! | medium  | closed | 32 connections                         | 2 s     | 20 s     |
//! | large   | closed | 128 connections                        | 5 s     | 60 s     |
//! | extreme | closed | ramp 0 → 256 (30 s), → 1024 (30 s), hold 1024 (60 s) | none | 120 s |
//!
//! A flag given next to `--level` overrides the preset's value.

use std::time::Duration;

use crate::config::ConfigError;
use crate::schedule::{Plan, Stage};

/// A named level.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// Does it answer at all: a trickle of load for a few seconds.
    Smoke,
    /// Everyday load.
    Medium,
    /// Heavy load for a minute.
    Large,
    /// A ramp to 1024 connections: where does it break?
    Extreme,
}

/// What a level sets.
#[derive(Debug, Clone, PartialEq)]
pub struct Preset {
    /// Connections over time (closed model).
    pub connections: Plan,
    /// Measured window.
    pub duration: Duration,
    /// Warm-up before it.
    pub warmup: Duration,
}

impl Level {
    /// Parses `smoke`, `medium`, `large` or `extreme`.
    pub fn parse(text: &str) -> Result<Level, ConfigError> {
        match text.trim().to_ascii_lowercase().as_str() {
            "smoke" => Ok(Level::Smoke),
            "medium" => Ok(Level::Medium),
            "large" => Ok(Level::Large),
            "extreme" => Ok(Level::Extreme),
            _ => Err(ConfigError::Level {
                text: text.to_string(),
            }),
        }
    }

    /// The level's name.
    pub fn name(self) -> &'static str {
        match self {
            Level::Smoke => "smoke",
            Level::Medium => "medium",
            Level::Large => "large",
            Level::Extreme => "extreme",
        }
    }

    /// The documented preset.
    pub fn preset(self) -> Preset {
        let s = Duration::from_secs;
        match self {
            Level::Smoke => Preset {
                connections: Plan::Constant(2.0),
                duration: s(5),
                warmup: s(0),
            },
            Level::Medium => Preset {
                connections: Plan::Constant(32.0),
                duration: s(20),
                warmup: s(2),
            },
            Level::Large => Preset {
                connections: Plan::Constant(128.0),
                duration: s(60),
                warmup: s(5),
            },
            Level::Extreme => Preset {
                connections: Plan::Stages(vec![
                    Stage {
                        duration: s(30),
                        target: 256.0,
                    },
                    Stage {
                        duration: s(30),
                        target: 1024.0,
                    },
                    Stage {
                        duration: s(60),
                        target: 1024.0,
                    },
                ]),
                duration: s(120),
                warmup: s(0),
            },
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn levels_parse_and_grow() {
        let names = ["smoke", "medium", "large", "extreme"];
        let peaks: Vec<f64> = names
            .iter()
            .map(|n| Level::parse(n).unwrap().preset().connections.peak())
            .collect();
        assert!(peaks.windows(2).all(|w| w[0] < w[1]), "{peaks:?}");
        for n in names {
            assert_eq!(Level::parse(n).unwrap().name(), n);
        }
        assert!(
            Level::parse("huge")
                .unwrap_err()
                .to_string()
                .contains("'huge'")
        );
    }

    #[test]
    fn extreme_stages_fill_its_duration() {
        let p = Level::Extreme.preset();
        assert_eq!(p.connections.length(), Some(p.duration));
    }
}
