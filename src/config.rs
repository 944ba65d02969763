//! `topolint.toml`: which rules run, at what severity, with which thresholds, and what fails the
//! run. Found upward from the working directory, or given with `--config`.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

use crate::diagnostic::Severity;
use crate::lints::engine::RuleConfig;
use crate::lints::{self, RULES};
use crate::suggest;

/// The lowest severity that makes `check` exit with 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FailOn {
    Error,
    Warning,
    Info,
    Never,
}

impl FailOn {
    pub fn parse(text: &str) -> Option<FailOn> {
        match text {
            "error" => Some(FailOn::Error),
            "warning" => Some(FailOn::Warning),
            "info" => Some(FailOn::Info),
            "never" => Some(FailOn::Never),
            _ => None,
        }
    }

    /// Whether a finding of this severity fails the run.
    pub fn fails(self, severity: Severity) -> bool {
        match self {
            FailOn::Never => false,
            FailOn::Error => severity >= Severity::Error,
            FailOn::Warning => severity >= Severity::Warning,
            FailOn::Info => true,
        }
    }
}

/// A configuration problem: exit code 2 with this message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError(pub String);

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConfigError {}

/// The settings of one run.
#[derive(Debug, Clone)]
pub struct Config {
    pub rules: RuleConfig,
    pub fail_on: FailOn,
    /// Where the settings came from, if a file.
    pub file: Option<PathBuf>,
    select: Vec<String>,
    ignore: Vec<String>,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            rules: RuleConfig::default(),
            fail_on: FailOn::Error,
            file: None,
            select: vec!["ALL".into()],
            ignore: Vec::new(),
        }
    }
}

/// The codes a selector names: `ALL`, a code, a name, or a family prefix such as `S` or `A2`.
pub fn resolve_selector(selector: &str) -> Result<Vec<&'static str>, String> {
    if selector.eq_ignore_ascii_case("ALL") {
        return Ok(RULES.iter().map(|r| r.meta.code).collect());
    }
    if let Some(rule) = lints::find(selector) {
        return Ok(vec![rule.meta.code]);
    }
    let upper = selector.to_ascii_uppercase();
    let is_prefix = upper
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic())
        && upper[1..].chars().all(|c| c.is_ascii_digit());
    if is_prefix {
        let codes: Vec<_> = RULES
            .iter()
            .map(|r| r.meta.code)
            .filter(|c| c.starts_with(&upper))
            .collect();
        if !codes.is_empty() {
            return Ok(codes);
        }
    }
    Err(format!(
        "unknown rule `{selector}`{}",
        suggest::hint(selector, lints::all_names())
    ))
}

const LINT_KEYS: &[&str] = &[
    "select",
    "ignore",
    "fail-on",
    "max-sync-depth",
    "max-retry-amplification",
    "min-advice-margin",
    "severity",
];

impl Config {
    /// The nearest `topolint.toml` from `dir` upward.
    pub fn find(dir: &Path) -> Option<PathBuf> {
        dir.ancestors()
            .map(|d| d.join("topolint.toml"))
            .find(|p| p.is_file())
    }

    /// Reads a settings file.
    pub fn from_file(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ConfigError(format!("{}: cannot read: {e}", path.display())))?;
        let mut config = Config::parse(&text)
            .map_err(|e| ConfigError(format!("{}: {}", path.display(), e.0)))?;
        config.file = Some(path.to_path_buf());
        Ok(config)
    }

    /// Parses the text of a settings file.
    pub fn parse(text: &str) -> Result<Config, ConfigError> {
        let table: toml::Table =
            toml::from_str(text).map_err(|e| ConfigError(e.to_string().trim().to_string()))?;
        let mut config = Config::default();
        for (key, value) in &table {
            if key != "lint" {
                return Err(ConfigError(format!(
                    "unknown section `{key}`{}: settings live under `[lint]`",
                    suggest::hint(key, ["lint"])
                )));
            }
            let Some(lint) = value.as_table() else {
                return Err(ConfigError("`lint` must be a table: write `[lint]`".into()));
            };
            config.apply_lint_table(lint)?;
        }
        config.resolve()?;
        Ok(config)
    }

    fn apply_lint_table(&mut self, lint: &toml::Table) -> Result<(), ConfigError> {
        for (key, value) in lint {
            match key.as_str() {
                "select" => self.select = string_list(key, value)?,
                "ignore" => self.ignore = string_list(key, value)?,
                "fail-on" => {
                    let text = value.as_str().unwrap_or_default();
                    self.fail_on = FailOn::parse(text).ok_or_else(|| {
                        ConfigError(format!(
                            "`fail-on` must be one of \"error\", \"warning\", \"info\", \"never\", not {value}{}",
                            suggest::hint(text, ["error", "warning", "info", "never"])
                        ))
                    })?;
                }
                "max-sync-depth" => {
                    self.rules.settings.max_sync_depth = positive(key, value)? as u32
                }
                "max-retry-amplification" => {
                    self.rules.settings.max_retry_amplification = positive(key, value)?
                }
                "min-advice-margin" => {
                    self.rules.settings.min_advice_margin = advice_margin(key, value)?
                }
                "severity" => {
                    let Some(table) = value.as_table() else {
                        return Err(ConfigError(
                            "`severity` must be a table: write `[lint.severity]`".into(),
                        ));
                    };
                    for (rule, level) in table {
                        let code = lints::find(rule).map(|r| r.meta.code).ok_or_else(|| {
                            ConfigError(format!(
                                "[lint.severity]: unknown rule `{rule}`{}",
                                suggest::hint(rule, lints::all_names())
                            ))
                        })?;
                        let text = level.as_str().unwrap_or_default();
                        let severity = Severity::parse(text).ok_or_else(|| {
                            ConfigError(format!(
                                "[lint.severity]: `{rule}` must be \"error\", \"warning\" or \"info\", not {level}{}",
                                suggest::hint(text, ["error", "warning", "info"])
                            ))
                        })?;
                        self.rules.severity.insert(code, severity);
                    }
                }
                _ => {
                    return Err(ConfigError(format!(
                        "unknown setting `{key}` in `[lint]`{}; the settings are: {}",
                        suggest::hint(key, LINT_KEYS.iter().copied()),
                        LINT_KEYS.join(", ")
                    )));
                }
            }
        }
        Ok(())
    }

    /// Command-line overrides: `--select` replaces the file's list, `--ignore` adds to it.
    pub fn override_with(
        &mut self,
        select: Option<Vec<String>>,
        ignore: Vec<String>,
        fail_on: Option<FailOn>,
    ) -> Result<(), ConfigError> {
        if let Some(select) = select {
            self.select = select;
        }
        self.ignore.extend(ignore);
        if let Some(fail_on) = fail_on {
            self.fail_on = fail_on;
        }
        self.resolve()
    }

    fn resolve(&mut self) -> Result<(), ConfigError> {
        let mut enabled = std::collections::HashSet::new();
        for s in &self.select {
            enabled.extend(resolve_selector(s).map_err(|e| ConfigError(format!("select: {e}")))?);
        }
        for s in &self.ignore {
            for code in resolve_selector(s).map_err(|e| ConfigError(format!("ignore: {e}")))? {
                enabled.remove(code);
            }
        }
        self.rules.enabled = enabled;
        Ok(())
    }

    /// The severity overrides, for display.
    pub fn severities(&self) -> &HashMap<&'static str, Severity> {
        &self.rules.severity
    }
}

fn string_list(key: &str, value: &toml::Value) -> Result<Vec<String>, ConfigError> {
    let items = value.as_array().ok_or_else(|| {
        ConfigError(format!(
            "`{key}` must be a list of rule codes or names, such as [\"S102\"]"
        ))
    })?;
    items
        .iter()
        .map(|v| {
            v.as_str()
                .map(str::to_string)
                .ok_or_else(|| ConfigError(format!("`{key}` must list strings, not {v}")))
        })
        .collect()
}

fn positive(key: &str, value: &toml::Value) -> Result<u64, ConfigError> {
    match value.as_integer() {
        Some(n) if n >= 1 => Ok(n as u64),
        _ => Err(ConfigError(format!(
            "`{key}` must be a whole number of at least 1, not {value}"
        ))),
    }
}

/// Scores move by a few points a need; a margin beyond 100 would silence X501 for good.
fn advice_margin(key: &str, value: &toml::Value) -> Result<u32, ConfigError> {
    match value.as_integer() {
        Some(n @ 1..=100) => Ok(n as u32),
        _ => Err(ConfigError(format!(
            "`{key}` must be a whole number from 1 to 100 (points of score; the default is {}), not {value}",
            crate::advise::weights::DEFAULT_MIN_MARGIN
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selectors_and_overrides() {
        let c = Config::parse("[lint]\nselect = [\"S\"]\nignore = [\"missing-timeout\"]\nfail-on = \"warning\"\nmax-sync-depth = 5\n[lint.severity]\nS101 = \"error\"\n").unwrap();
        assert!(c.rules.is_enabled("S101"));
        assert!(!c.rules.is_enabled("S102"));
        assert!(!c.rules.is_enabled("A201"));
        assert_eq!(c.fail_on, FailOn::Warning);
        assert_eq!(c.rules.settings.max_sync_depth, 5);
        assert_eq!(c.rules.severity.get("S101"), Some(&Severity::Error));
    }

    #[test]
    fn min_advice_margin_is_read_and_checked() {
        assert_eq!(
            Config::default().rules.settings.min_advice_margin,
            crate::advise::weights::DEFAULT_MIN_MARGIN
        );
        let c = Config::parse("[lint]\nmin-advice-margin = 5\n").unwrap();
        assert_eq!(c.rules.settings.min_advice_margin, 5);
        for bad in ["0", "-2", "101", "\"3\"", "2.5"] {
            let e = Config::parse(&format!("[lint]\nmin-advice-margin = {bad}\n")).unwrap_err();
            assert!(
                e.0.contains("`min-advice-margin` must be a whole number from 1 to 100"),
                "{bad}: {e}"
            );
        }
        let e = Config::parse("[lint]\nmin-advise-margin = 5\n").unwrap_err();
        assert!(e.0.contains("did you mean `min-advice-margin`"), "{e}");
    }

    #[test]
    fn errors_suggest() {
        let e = Config::parse("[lint]\nselct = [\"ALL\"]\n").unwrap_err();
        assert!(e.0.contains("did you mean `select`"), "{e}");
        let e = Config::parse("[lint]\nselect = [\"missing-timout\"]\n").unwrap_err();
        assert!(e.0.contains("did you mean `missing-timeout`"), "{e}");
        let e = Config::parse("[lint]\nfail-on = \"warn\"\n").unwrap_err();
        assert!(e.0.contains("did you mean `warning`"), "{e}");
        let e = Config::parse("[lint.severity]\nS101 = \"fatal\"\n").unwrap_err();
        assert!(e.0.contains("S101"), "{e}");
    }
}
