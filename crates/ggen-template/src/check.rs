//! Checking a package's templates against the variables it declares, before
//! anyone renders them: what `ggen marketplace validate` and publishing report.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::engine::{Engine, is_template};
use crate::render::{TEMPLATES_DIR, TemplateSource, is_binary};

/// What [`check_templates`] found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TemplateCheck {
    /// Problems that stop the package from generating: syntax errors, and
    /// variables used but never declared.
    pub errors: Vec<String>,
    /// Worth fixing: declared variables nothing uses, `extends` paths no
    /// template writes.
    pub warnings: Vec<String>,
}

/// Checks every template, templated file name, default and condition of
/// `source`. A template may use only what its own package declares (and
/// `extended` in a file it extends): a variable that only a dependency
/// declares would leave the package broken the day the dependency drops it.
pub fn check_templates(source: &TemplateSource) -> TemplateCheck {
    let engine = Engine::new();
    let m = &source.manifest;
    let mut out = TemplateCheck::default();
    let mut used = BTreeSet::new();
    let declared: BTreeSet<&str> = m.variables.keys().map(String::as_str).collect();
    let raw = crate::render::raw_patterns(m);
    // (where, what it reads, whether `extended` is defined there)
    let mut reads: Vec<(String, std::collections::HashSet<String>, bool)> = Vec::new();
    for file in &source.files {
        let shown = format!("{TEMPLATES_DIR}{}", file.path);
        for part in file.path.split('/').filter(|p| is_template(p)) {
            match engine.template_references(part) {
                Ok(refs) => reads.push((format!("{shown} (its name)"), refs, false)),
                Err(e) => out
                    .errors
                    .push(format!("{shown} (its name): {}", e.message)),
            }
        }
        if raw.is_match(&file.path) || is_binary(&file.data) {
            continue;
        }
        let text = String::from_utf8_lossy(&file.data);
        if !is_template(&text) {
            continue;
        }
        match engine.template_references(&text) {
            Ok(refs) => reads.push((shown, refs, m.template.extends.contains(&file.path))),
            Err(e) => out.errors.push(match e.line {
                Some(l) => format!("{shown}:{l}: {}", e.message),
                None => format!("{shown}: {}", e.message),
            }),
        }
    }
    for (name, var) in &m.variables {
        let at = format!("variables.{name}");
        if let Some(Value::String(s)) = &var.default
            && var.default_is_template()
        {
            match engine.template_references(s) {
                Ok(refs) => reads.push((format!("{at}.default"), refs, false)),
                Err(e) => out.errors.push(format!("{at}.default: {}", e.message)),
            }
        }
        if let Some(w) = &var.when {
            match engine.expression_references(w) {
                Ok(refs) => reads.push((format!("{at}.when"), refs, false)),
                Err(e) => out.errors.push(format!("{at}.when: {}", e.message)),
            }
        }
    }
    for (file, refs, extended_ok) in reads {
        for r in refs {
            if r == "extended" && extended_ok {
                continue;
            }
            if !declared.contains(r.as_str()) {
                out.errors.push(format!(
                    "{file} uses `{r}`, which is not declared under [variables]"
                ));
            }
            used.insert(r);
        }
    }
    for p in &m.template.extends {
        if !source.files.iter().any(|f| &f.path == p) {
            out.warnings.push(format!(
                "template.extends lists `{p}`, but templates/{p} does not exist"
            ));
        }
    }
    for name in m.variables.keys() {
        if !used.contains(name) {
            out.warnings.push(format!(
                "variables.{name} is declared but no template, file name, default or condition uses it"
            ));
        }
    }
    out.errors.sort();
    out.errors.dedup();
    out
}
