//! The one template environment every rendering goes through, built so that a
//! template from a registry can compute text and nothing else.
//!
//! MiniJinja is compiled without `multi_template` (no `include`, `import` or
//! `extends` exist) and no loader is ever set, so a template cannot name a
//! file; it has no function that reads the environment, runs a program or
//! opens a socket. Undefined variables are errors (a typo never renders as
//! empty text), nothing is HTML-escaped (the output is source code), a
//! trailing newline is kept, and fuel bounds the work one template may do, so
//! a hostile loop stops with an error instead of spinning.

use std::collections::{BTreeMap, HashSet};

use minijinja::syntax::SyntaxConfig;
use minijinja::{AutoEscape, Environment, UndefinedBehavior, Value};

/// Instructions one template, file name, default or condition may execute.
/// The bundled catalogue's largest template needs a few thousand.
const FUEL: u64 = 5_000_000;

/// A rendering failure: the message and the template line, if known.
#[derive(Debug)]
pub(crate) struct EngineError {
    pub message: String,
    pub line: Option<usize>,
}

impl From<minijinja::Error> for EngineError {
    fn from(e: minijinja::Error) -> Self {
        let message = match e.detail() {
            Some(d) => format!("{}: {d}", kind_text(&e)),
            None => kind_text(&e),
        };
        Self {
            message,
            line: e.line(),
        }
    }
}

fn kind_text(e: &minijinja::Error) -> String {
    match e.kind() {
        minijinja::ErrorKind::UndefinedError => {
            "a variable it uses is not defined (declare it under [variables])".into()
        }
        minijinja::ErrorKind::OutOfFuel => {
            "the template does too much work (a runaway loop?) and was stopped".into()
        }
        minijinja::ErrorKind::SyntaxError => "syntax error".into(),
        k => k.to_string(),
    }
}

/// The sandboxed environment.
pub(crate) struct Engine {
    env: Environment<'static>,
}

impl Engine {
    pub fn new() -> Self {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_auto_escape_callback(|_| AutoEscape::None);
        env.set_fuel(Some(FUEL));
        env.set_syntax(
            SyntaxConfig::builder()
                .keep_trailing_newline(true)
                .build()
                .expect("the default delimiters are valid"),
        );
        Self { env }
    }

    /// Renders `source` with `vars`.
    pub fn render(
        &self,
        source: &str,
        vars: &BTreeMap<String, Value>,
    ) -> Result<String, EngineError> {
        Ok(self.env.render_str(source, vars)?)
    }

    /// Evaluates a condition (`when`) to a truth value.
    pub fn truth(&self, expr: &str, vars: &BTreeMap<String, Value>) -> Result<bool, EngineError> {
        let compiled = self.env.compile_expression(expr)?;
        Ok(compiled.eval(vars)?.is_true())
    }

    /// The variables `source` reads from its context (not the ones it sets).
    pub fn template_references(&self, source: &str) -> Result<HashSet<String>, EngineError> {
        Ok(self
            .env
            .template_from_str(source)?
            .undeclared_variables(false))
    }

    /// The variables a condition reads.
    pub fn expression_references(&self, expr: &str) -> Result<HashSet<String>, EngineError> {
        Ok(self
            .env
            .compile_expression(expr)?
            .undeclared_variables(false))
    }
}

/// Whether `text` holds template syntax at all (plain text is left as it is,
/// which also spares the engine most files).
pub(crate) fn is_template(text: &str) -> bool {
    text.contains("{{") || text.contains("{%") || text.contains("{#")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars() -> BTreeMap<String, Value> {
        BTreeMap::from([("name".to_string(), Value::from("x<y"))])
    }

    #[test]
    fn renders_source_code_verbatim_with_its_last_newline() {
        let e = Engine::new();
        assert_eq!(e.render("<{{ name }}>\n", &vars()).unwrap(), "<x<y>\n");
    }

    #[test]
    fn a_template_cannot_name_another_file() {
        let e = Engine::new();
        for t in [
            "{% include '/etc/passwd' %}",
            "{% import 'x' as y %}",
            "{% extends 'base' %}",
        ] {
            let err = e.render(t, &vars()).unwrap_err();
            assert!(err.message.contains("syntax error"), "{t}: {}", err.message);
        }
    }

    #[test]
    fn undefined_variables_are_errors_with_their_line() {
        let err = Engine::new().render("ok\n{{ nmae }}", &vars()).unwrap_err();
        assert!(err.message.contains("not defined"), "{}", err.message);
        assert_eq!(err.line, Some(2));
    }

    #[test]
    fn runaway_templates_stop() {
        let e = Engine::new();
        let err = e
            .render(
                "{% for a in range(10000) %}{% for b in range(10000) %}x{% endfor %}{% endfor %}",
                &vars(),
            )
            .unwrap_err();
        assert!(err.message.contains("too much work"), "{}", err.message);
    }

    #[test]
    fn references_leave_out_what_the_template_sets() {
        let refs = Engine::new()
            .template_references("{% set a = 1 %}{{ a }}{{ b }}{% for i in c %}{{ i }}{% endfor %}")
            .unwrap();
        assert_eq!(refs, HashSet::from(["b".to_string(), "c".to_string()]));
    }
}
