//! The generation contract a manifest declares: its typed `[variables]` and
//! its `[template]` section.
//!
//! This module reads and checks what can be checked from the manifest alone
//! (names, types, defaults against their type, choices, ranges, patterns), so a
//! package with a broken contract is refused at publish time. Rendering, and
//! the checks that need the templates, live in the `ggen-template` crate.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// What kind of answer a variable takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum VariableType {
    /// Text (the default).
    String,
    /// A whole number, optionally within `min..=max`.
    Integer,
    /// `true` or `false`.
    Boolean,
    /// One of `choices`.
    Choice,
    /// A list of strings.
    List,
}

impl VariableType {
    /// The spelling in a manifest.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::String => "string",
            Self::Integer => "integer",
            Self::Boolean => "boolean",
            Self::Choice => "choice",
            Self::List => "list",
        }
    }
}

/// A template variable a package declares: a question its templates need
/// answered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Variable {
    /// What kind of answer it takes; without it, the kind of its default
    /// (text when there is none).
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<VariableType>,
    /// Its value when the user gives none. A string default may be a template
    /// over earlier answers (`"{{ project_name | replace('-', '_') }}"`).
    /// Without a default the variable is required.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<Value>,
    /// What it is for, shown when asking for it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The allowed answers of a `choice`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub choices: Vec<Value>,
    /// A regular expression a string answer must match as a whole.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pattern: Option<String>,
    /// The smallest integer answer allowed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<i64>,
    /// The largest integer answer allowed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<i64>,
    /// An expression over earlier answers (`"use_ci and ci == 'github'"`):
    /// the question is asked only when it holds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub when: Option<String>,
}

impl Variable {
    /// Its kind: declared, or that of its default.
    pub fn kind(&self) -> VariableType {
        if let Some(k) = self.kind {
            return k;
        }
        match &self.default {
            Some(Value::Bool(_)) => VariableType::Boolean,
            Some(Value::Number(_)) => VariableType::Integer,
            Some(Value::Array(_)) => VariableType::List,
            _ => VariableType::String,
        }
    }

    /// Whether a string default is a template over other answers.
    pub fn default_is_template(&self) -> bool {
        matches!(&self.default, Some(Value::String(s)) if s.contains("{{") || s.contains("{%"))
    }

    /// Checks the declaration on its own; the message names the key at fault.
    pub(super) fn check(&self, name: &str) -> Result<(), String> {
        if !is_identifier(name) {
            return Err(format!(
                "variables.{name}: a variable name is letters, digits and `_`, starting with a letter or `_` (templates refer to it as {{{{ {name} }}}})"
            ));
        }
        let kind = self.kind();
        let at = |key: &str| format!("variables.{name}.{key}");
        if !self.choices.is_empty() && kind != VariableType::Choice {
            return Err(format!(
                "{}: only a `choice` variable has choices (this one is {})",
                at("choices"),
                kind.as_str()
            ));
        }
        if (self.min.is_some() || self.max.is_some()) && kind != VariableType::Integer {
            return Err(format!(
                "variables.{name}: `min` and `max` apply to integers only (this one is {})",
                kind.as_str()
            ));
        }
        if self.pattern.is_some() && !matches!(kind, VariableType::String | VariableType::List) {
            return Err(format!(
                "{}: a pattern applies to strings and lists only (this one is {})",
                at("pattern"),
                kind.as_str()
            ));
        }
        if let Some(p) = &self.pattern {
            regex::Regex::new(p).map_err(|e| {
                format!("{}: `{p}` is not a regular expression: {e}", at("pattern"))
            })?;
        }
        if let (Some(lo), Some(hi)) = (self.min, self.max)
            && lo > hi
        {
            return Err(format!("variables.{name}: min {lo} is above max {hi}"));
        }
        if kind == VariableType::Choice {
            if self.choices.is_empty() {
                return Err(format!(
                    "{}: a `choice` variable lists its choices",
                    at("choices")
                ));
            }
            if let Some(c) = self.choices.iter().find(|c| !is_scalar(c)) {
                return Err(format!(
                    "{}: {c} is not a string, number or boolean",
                    at("choices")
                ));
            }
        }
        if let Some(default) = &self.default
            && !self.default_is_template()
        {
            check_value(self, default).map_err(|e| format!("{}: {e}", at("default")))?;
        }
        Ok(())
    }
}

/// Checks `value` against the variable's kind, choices, range and pattern.
/// The message says what the value should be, without naming the variable.
pub fn check_value(var: &Variable, value: &Value) -> Result<(), String> {
    let kind = var.kind();
    match (kind, value) {
        (VariableType::String, Value::String(s)) => check_pattern(var, s),
        (VariableType::Integer, Value::Number(n)) => {
            let Some(n) = n.as_i64() else {
                return Err(format!("{n} is not a whole number"));
            };
            if let Some(lo) = var.min
                && n < lo
            {
                return Err(format!("{n} is below the minimum {lo}"));
            }
            if let Some(hi) = var.max
                && n > hi
            {
                return Err(format!("{n} is above the maximum {hi}"));
            }
            Ok(())
        }
        (VariableType::Boolean, Value::Bool(_)) => Ok(()),
        (VariableType::Choice, v) => {
            if var.choices.contains(v) {
                Ok(())
            } else {
                Err(format!(
                    "{v} is not one of the choices ({})",
                    var.choices
                        .iter()
                        .map(Value::to_string)
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
            }
        }
        (VariableType::List, Value::Array(items)) => {
            for item in items {
                match item {
                    Value::String(s) => check_pattern(var, s)?,
                    other => return Err(format!("list item {other} is not a string")),
                }
            }
            Ok(())
        }
        (kind, v) => Err(format!("{v} is not a{} {}", article(kind), kind.as_str())),
    }
}

fn article(kind: VariableType) -> &'static str {
    if kind == VariableType::Integer {
        "n"
    } else {
        ""
    }
}

fn check_pattern(var: &Variable, s: &str) -> Result<(), String> {
    let Some(p) = &var.pattern else {
        return Ok(());
    };
    // Anchored: a pattern describes the whole answer, as in HTML forms.
    let whole = format!("^(?:{p})$");
    match regex::Regex::new(&whole) {
        Ok(re) if re.is_match(s) => Ok(()),
        Ok(_) => Err(format!("{s:?} does not match the pattern `{p}`")),
        Err(e) => Err(format!(
            "the pattern `{p}` is not a regular expression: {e}"
        )),
    }
}

fn is_scalar(v: &Value) -> bool {
    matches!(v, Value::String(_) | Value::Number(_) | Value::Bool(_))
}

/// Letters, digits and `_`, not starting with a digit: a name a template can
/// refer to.
pub fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && name.len() <= 64
}

/// A manifest's `[template]` section: how its `templates/` are rendered.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TemplateSection {
    /// Glob patterns (relative to `templates/`) of files copied untouched,
    /// never rendered, e.g. `["assets/**", "*.png"]`. Binary files are always
    /// copied untouched.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub raw: Vec<String>,
    /// Paths this package takes over from a dependency that writes them too:
    /// its file replaces the dependency's (which its template can read as
    /// `{{ extended }}`). Any other path two packages write is an error.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extends: Vec<String>,
}

impl TemplateSection {
    pub(super) fn check(&self) -> Result<(), String> {
        for p in &self.raw {
            globset::Glob::new(p)
                .map_err(|e| format!("template.raw: `{p}` is not a glob pattern: {e}"))?;
        }
        for p in &self.extends {
            if p.is_empty()
                || p.starts_with('/')
                || p.contains('\\')
                || p.split('/').any(|c| c.is_empty() || c == "." || c == "..")
            {
                return Err(format!(
                    "template.extends: `{p}` is not a relative path inside the generated project"
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn var(v: Value) -> Variable {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn kinds_come_from_the_declaration_or_the_default() {
        assert_eq!(var(json!({"default": 1})).kind(), VariableType::Integer);
        assert_eq!(var(json!({"default": true})).kind(), VariableType::Boolean);
        assert_eq!(var(json!({})).kind(), VariableType::String);
        assert_eq!(
            var(json!({"type": "choice", "choices": ["a"]})).kind(),
            VariableType::Choice
        );
    }

    #[test]
    fn declarations_that_contradict_themselves_are_refused() {
        let bad = [
            (json!({"type": "integer", "default": "x"}), "default"),
            (json!({"type": "integer", "min": 5, "max": 1}), "min 5"),
            (json!({"type": "choice"}), "lists its choices"),
            (
                json!({"type": "choice", "choices": ["a"], "default": "b"}),
                "not one of",
            ),
            (json!({"default": "x", "min": 1}), "integers only"),
            (
                json!({"type": "boolean", "pattern": "x"}),
                "strings and lists",
            ),
            (json!({"pattern": "("}), "not a regular expression"),
            (
                json!({"pattern": "^[a-z]+$", "default": "Nope"}),
                "does not match",
            ),
            (json!({"default": "a", "choices": ["a"]}), "only a `choice`"),
        ];
        for (decl, want) in bad {
            let e = var(decl.clone()).check("v").unwrap_err();
            assert!(e.contains(want), "{decl}: {e}");
        }
        assert!(
            var(json!({"default": "{{ other }}", "pattern": "^[a-z]+$"}))
                .check("v")
                .is_ok()
        );
        assert!(var(json!({})).check("9lives").is_err());
        assert!(var(json!({})).check("snake_case_1").is_ok());
    }

    #[test]
    fn values_are_checked_against_range_pattern_and_choices() {
        let port = var(json!({"type": "integer", "min": 1, "max": 65535}));
        assert!(check_value(&port, &json!(8080)).is_ok());
        assert!(
            check_value(&port, &json!(0))
                .unwrap_err()
                .contains("minimum 1")
        );
        assert!(
            check_value(&port, &json!("80"))
                .unwrap_err()
                .contains("not an integer")
        );
        let name = var(json!({"pattern": "[a-z-]+"}));
        assert!(check_value(&name, &json!("my-app")).is_ok());
        // The pattern is anchored: a partial match is not enough.
        assert!(check_value(&name, &json!("my app")).is_err());
        let tags = var(json!({"type": "list", "pattern": "[a-z]+"}));
        assert!(check_value(&tags, &json!(["a", "b"])).is_ok());
        assert!(check_value(&tags, &json!(["a", 1])).is_err());
    }

    #[test]
    fn extends_paths_stay_inside_the_project() {
        for p in ["../x", "/etc/passwd", "a//b", "a\\b", ""] {
            let s = TemplateSection {
                raw: vec![],
                extends: vec![p.into()],
            };
            assert!(s.check().is_err(), "{p}");
        }
        let s = TemplateSection {
            raw: vec!["**/*.png".into()],
            extends: vec!["Cargo.toml".into()],
        };
        assert!(s.check().is_ok());
    }
}
