//! Answering a generation's questions: from what the user gave, from the
//! project's recorded answers, from a prompt, or from defaults, each answer
//! checked against its variable's contract.
//!
//! The questions of a generation are the variables of every package in it:
//! the root's first, in the order its manifest declares them, then its
//! dependencies'. A name declared by several packages is one question (so
//! `project_name` is asked once); its answer must satisfy every declaration.
//! Defaults and conditions may refer to other answers, so questions are
//! answered in an order where each comes after the ones it refers to.

use std::collections::{BTreeMap, BTreeSet};

use ggen_marketplace_core::Manifest;
use ggen_marketplace_core::manifest::{Variable, VariableType, check_value};
use serde_json::Value;

use crate::engine::{Engine, EngineError};
use crate::error::{Result, TemplateError};

/// Answers by variable name.
pub type Answers = BTreeMap<String, Value>;

/// One question, as a prompt shows it.
#[derive(Debug, Clone)]
pub struct Question<'a> {
    /// The variable's name.
    pub name: &'a str,
    /// The package whose declaration asks it.
    pub package: &'a str,
    /// Its declaration.
    pub variable: &'a Variable,
    /// The default, already rendered over earlier answers.
    pub default: Option<Value>,
    /// Why the previous answer was refused, when asking again.
    pub error: Option<String>,
}

/// Asks a person. The terminal prompt is the CLI's; tests script one.
pub trait Prompter {
    /// The answer to `q`, in its kind (strings are converted like `--var`).
    fn ask(&mut self, q: &Question<'_>) -> std::result::Result<Value, String>;
}

/// Where answers come from besides defaults.
#[derive(Default)]
pub struct AnswerSources<'a> {
    /// Given by the user (`--var`, an answers file): a name no package
    /// declares is an error.
    pub given: Answers,
    /// Recorded by an earlier generation: a name no longer declared is dropped.
    pub recorded: Answers,
    /// Asks for what is neither given nor recorded; without one, defaults
    /// answer and a required question is an error.
    pub prompter: Option<&'a mut dyn Prompter>,
}

/// A question and the packages that declare it.
struct Declared<'a> {
    name: &'a str,
    first: (&'a str, &'a Variable),
    others: Vec<(&'a str, &'a Variable)>,
}

/// How many times a prompt may be answered wrongly before giving up.
const PROMPT_ATTEMPTS: usize = 5;

/// Answers every question of `stack` (root first, then its dependencies).
/// Questions whose condition is false are not asked; they take their default
/// (if any) and are left out of the answers to record.
pub fn resolve_answers(stack: &[&Manifest], mut sources: AnswerSources<'_>) -> Result<Resolved> {
    let engine = Engine::new();
    let declared = declarations(stack)?;
    let packages = stack
        .iter()
        .map(|m| format!("`{}`", m.name))
        .collect::<Vec<_>>()
        .join(", ");
    if let Some(unknown) = sources
        .given
        .keys()
        .find(|k| !declared.iter().any(|d| d.name == k.as_str()))
    {
        return Err(TemplateError::UnknownVariable {
            name: unknown.clone(),
            packages,
        });
    }
    let order = answer_order(&engine, &declared)?;
    let mut context: BTreeMap<String, minijinja::Value> = BTreeMap::new();
    let mut recorded = Answers::new();
    for i in order {
        let d = &declared[i];
        let (package, var) = d.first;
        let fail = |reason: String| TemplateError::InvalidAnswer {
            name: d.name.to_string(),
            package: package.to_string(),
            reason,
        };
        let render_err = |what: &str, e: EngineError| TemplateError::Render {
            package: package.to_string(),
            file: format!("gpack manifest, variables.{}.{what}", d.name),
            line: None,
            message: e.message,
        };
        let default = match &var.default {
            Some(Value::String(s)) if var.default_is_template() => {
                let text = engine
                    .render(s, &context)
                    .map_err(|e| render_err("default", e))?;
                Some(coerce(var, Value::String(text)).map_err(&fail)?)
            }
            other => other.clone(),
        };
        if let Some(cond) = &var.when {
            let asked = engine
                .truth(cond, &context)
                .map_err(|e| render_err("when", e))?;
            if !asked {
                if let Some(v) = default {
                    context.insert(
                        d.name.to_string(),
                        minijinja::Value::from(minijinja::value::Serde(&v)),
                    );
                }
                continue;
            }
        }
        let answer = if let Some(v) = sources.given.remove(d.name) {
            coerce(var, v).map_err(&fail)?
        } else if let Some(v) = sources.recorded.remove(d.name) {
            coerce(var, v).map_err(&fail)?
        } else if let Some(prompter) = sources.prompter.as_deref_mut() {
            ask(prompter, d, default)?
        } else if let Some(v) = default {
            v
        } else {
            return Err(TemplateError::MissingAnswer {
                name: d.name.to_string(),
                package: package.to_string(),
                description: var.description.clone(),
            });
        };
        for (pkg, other) in std::iter::once(&d.first).chain(&d.others) {
            check_value(other, &answer).map_err(|reason| TemplateError::InvalidAnswer {
                name: d.name.to_string(),
                package: pkg.to_string(),
                reason,
            })?;
        }
        context.insert(
            d.name.to_string(),
            minijinja::Value::from(minijinja::value::Serde(&answer)),
        );
        recorded.insert(d.name.to_string(), answer);
    }
    Ok(Resolved {
        answers: recorded,
        context,
    })
}

/// The result of [`resolve_answers`].
#[derive(Debug, Clone)]
pub struct Resolved {
    /// What to record: every question asked, with its answer.
    pub answers: Answers,
    /// What templates see: the answers plus the defaults of questions not asked.
    pub(crate) context: BTreeMap<String, minijinja::Value>,
}

fn ask(prompter: &mut dyn Prompter, d: &Declared<'_>, default: Option<Value>) -> Result<Value> {
    let (package, var) = d.first;
    let mut q = Question {
        name: d.name,
        package,
        variable: var,
        default,
        error: None,
    };
    for _ in 0..PROMPT_ATTEMPTS {
        let checked = prompter.ask(&q).and_then(|v| {
            let v = coerce(var, v)?;
            for (_, other) in std::iter::once(&d.first).chain(&d.others) {
                check_value(other, &v)?;
            }
            Ok(v)
        });
        match checked {
            Ok(v) => return Ok(v),
            Err(e) => q.error = Some(e),
        }
    }
    Err(TemplateError::InvalidAnswer {
        name: d.name.to_string(),
        package: package.to_string(),
        reason: q.error.unwrap_or_default(),
    })
}

/// Turns text (from `--var`, a prompt, a rendered default) into the
/// variable's kind; values already of the kind pass through.
pub fn coerce(var: &Variable, value: Value) -> std::result::Result<Value, String> {
    let Value::String(text) = value else {
        return Ok(value);
    };
    let t = text.trim();
    Ok(match var.kind() {
        VariableType::String => Value::String(text),
        VariableType::Integer => Value::from(
            t.parse::<i64>()
                .map_err(|_| format!("{text:?} is not a whole number"))?,
        ),
        VariableType::Boolean => Value::Bool(match t.to_ascii_lowercase().as_str() {
            "true" | "yes" | "y" | "1" | "on" => true,
            "false" | "no" | "n" | "0" | "off" => false,
            _ => return Err(format!("{text:?} is not true or false")),
        }),
        VariableType::Choice => var
            .choices
            .iter()
            .find(|c| match c {
                Value::String(s) => s == t,
                // 8080 or true typed for a number or boolean choice.
                other => t.parse::<Value>().ok().as_ref() == Some(other),
            })
            .cloned()
            .unwrap_or(Value::String(text)),
        VariableType::List => {
            if t.starts_with('[') {
                serde_json::from_str(t).map_err(|e| format!("{text:?} is not a JSON list: {e}"))?
            } else if t.is_empty() {
                Value::Array(Vec::new())
            } else {
                Value::Array(
                    t.split(',')
                        .map(|s| Value::String(s.trim().to_string()))
                        .collect(),
                )
            }
        }
    })
}

/// The questions of a stack, root's first, each name once.
fn declarations<'a>(stack: &[&'a Manifest]) -> Result<Vec<Declared<'a>>> {
    let mut out: Vec<Declared<'a>> = Vec::new();
    for m in stack {
        for (name, var) in &m.variables {
            match out.iter_mut().find(|d| d.name == name.as_str()) {
                Some(d) => {
                    let (first, fv) = d.first;
                    if fv.kind() != var.kind() {
                        return Err(TemplateError::KindConflict {
                            name: name.clone(),
                            first: first.to_string(),
                            first_kind: fv.kind().as_str(),
                            second: m.name.clone(),
                            second_kind: var.kind().as_str(),
                        });
                    }
                    d.others.push((&m.name, var));
                }
                None => out.push(Declared {
                    name,
                    first: (&m.name, var),
                    others: Vec::new(),
                }),
            }
        }
    }
    Ok(out)
}

/// Declaration order, except that a question comes after every question its
/// default or condition refers to.
fn answer_order(engine: &Engine, declared: &[Declared<'_>]) -> Result<Vec<usize>> {
    let index: BTreeMap<&str, usize> = declared
        .iter()
        .enumerate()
        .map(|(i, d)| (d.name, i))
        .collect();
    let mut needs: Vec<BTreeSet<usize>> = Vec::with_capacity(declared.len());
    for d in declared {
        let (package, var) = d.first;
        let mut refs = BTreeSet::new();
        let bad = |what: &str, e: EngineError| TemplateError::Render {
            package: package.to_string(),
            file: format!("gpack manifest, variables.{}.{what}", d.name),
            line: None,
            message: e.message,
        };
        if let Some(Value::String(s)) = &var.default
            && var.default_is_template()
        {
            refs.extend(
                engine
                    .template_references(s)
                    .map_err(|e| bad("default", e))?,
            );
        }
        if let Some(w) = &var.when {
            refs.extend(
                engine
                    .expression_references(w)
                    .map_err(|e| bad("when", e))?,
            );
        }
        needs.push(
            refs.iter()
                .filter_map(|r| index.get(r.as_str()).copied())
                .collect(),
        );
    }
    let mut done = vec![false; declared.len()];
    let mut order = Vec::with_capacity(declared.len());
    while order.len() < declared.len() {
        let next =
            (0..declared.len()).find(|&i| !done[i] && needs[i].iter().all(|&n| done[n] || n == i));
        match next {
            Some(i) => {
                done[i] = true;
                order.push(i);
            }
            None => {
                let stuck: Vec<String> = (0..declared.len())
                    .filter(|&i| !done[i])
                    .map(|i| format!("`{}`", declared[i].name))
                    .collect();
                return Err(TemplateError::Cycle(stuck.join(", ")));
            }
        }
    }
    Ok(order)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ggen_marketplace_core::manifest::ManifestFormat;
    use serde_json::json;
    use std::path::Path;

    fn manifest(name: &str, vars: &str) -> Manifest {
        let text = format!(
            "[package]\nname = \"{name}\"\nversion = \"1.0.0\"\nlicense = \"MIT\"\ndescription = \"d\"\n\n[variables]\n{vars}"
        );
        Manifest::parse(&text, ManifestFormat::GpackToml, Path::new("gpack.toml")).unwrap()
    }

    fn given(pairs: &[(&str, Value)]) -> AnswerSources<'static> {
        AnswerSources {
            given: pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
            ..AnswerSources::default()
        }
    }

    #[test]
    fn defaults_may_refer_to_later_declared_answers() {
        let m = manifest(
            "a",
            "crate_name = { default = \"{{ project_name | replace('-', '_') }}\" }\nproject_name = { default = \"my-app\" }\n",
        );
        let r = resolve_answers(&[&m], given(&[("project_name", json!("hello-there"))])).unwrap();
        assert_eq!(r.answers["crate_name"], json!("hello_there"));
    }

    #[test]
    fn var_text_becomes_the_declared_kind_and_is_checked() {
        let m = manifest(
            "a",
            "port = { type = \"integer\", default = 8080, min = 1, max = 65535 }\nci = { type = \"boolean\", default = true }\nfeatures = { type = \"list\", default = [] }\n",
        );
        let r = resolve_answers(
            &[&m],
            given(&[
                ("port", json!("9000")),
                ("ci", json!("no")),
                ("features", json!("a, b")),
            ]),
        )
        .unwrap();
        assert_eq!(r.answers["port"], json!(9000));
        assert_eq!(r.answers["ci"], json!(false));
        assert_eq!(r.answers["features"], json!(["a", "b"]));
        let e = resolve_answers(&[&m], given(&[("port", json!("70000"))])).unwrap_err();
        assert!(e.to_string().contains("above the maximum"), "{e}");
    }

    #[test]
    fn a_required_question_without_an_answer_is_named() {
        let m = manifest("a", "owner = { description = \"Who owns it\" }\n");
        let e = resolve_answers(&[&m], AnswerSources::default()).unwrap_err();
        let text = e.to_string();
        assert!(
            text.contains("`owner`") && text.contains("Who owns it"),
            "{text}"
        );
    }

    #[test]
    fn unknown_given_names_are_refused_but_stale_recorded_ones_dropped() {
        let m = manifest("a", "x = { default = \"1\" }\n");
        let e = resolve_answers(&[&m], given(&[("y", json!("2"))])).unwrap_err();
        assert!(matches!(e, TemplateError::UnknownVariable { .. }));
        let sources = AnswerSources {
            recorded: Answers::from([("gone".to_string(), json!("2"))]),
            ..AnswerSources::default()
        };
        let r = resolve_answers(&[&m], sources).unwrap();
        assert_eq!(r.answers.len(), 1);
    }

    #[test]
    fn a_false_condition_skips_the_question_but_keeps_its_default_for_templates() {
        let m = manifest(
            "a",
            "ci = { default = false }\nprovider = { type = \"choice\", choices = [\"github\", \"gitlab\"], default = \"github\", when = \"ci\" }\n",
        );
        let r = resolve_answers(&[&m], AnswerSources::default()).unwrap();
        assert!(!r.answers.contains_key("provider"));
        assert!(r.context.contains_key("provider"));
    }

    #[test]
    fn one_name_in_two_packages_is_one_question_checked_against_both() {
        let root = manifest("root", "name = { default = \"ok\" }\n");
        let dep = manifest("dep", "name = { default = \"x\", pattern = \"[a-z]+\" }\n");
        let r = resolve_answers(&[&root, &dep], AnswerSources::default()).unwrap();
        assert_eq!(r.answers["name"], json!("ok"));
        let e = resolve_answers(&[&root, &dep], given(&[("name", json!("NO"))])).unwrap_err();
        assert!(e.to_string().contains("(dep)"), "{e}");
    }

    #[test]
    fn circular_defaults_are_refused() {
        let m = manifest(
            "a",
            "x = { default = \"{{ y }}\" }\ny = { default = \"{{ x }}\" }\n",
        );
        assert!(matches!(
            resolve_answers(&[&m], AnswerSources::default()),
            Err(TemplateError::Cycle(_))
        ));
    }

    #[test]
    fn a_prompt_is_asked_again_after_a_wrong_answer() {
        struct Scripted(Vec<&'static str>, Vec<Option<String>>);
        impl Prompter for Scripted {
            fn ask(&mut self, q: &Question<'_>) -> std::result::Result<Value, String> {
                self.1.push(q.error.clone());
                Ok(json!(self.0.remove(0)))
            }
        }
        let m = manifest("a", "port = { type = \"integer\", default = 1 }\n");
        let mut p = Scripted(vec!["eighty", "80"], Vec::new());
        let r = resolve_answers(
            &[&m],
            AnswerSources {
                prompter: Some(&mut p),
                ..AnswerSources::default()
            },
        )
        .unwrap();
        assert_eq!(r.answers["port"], json!(80));
        assert!(p.1[1].as_deref().unwrap().contains("not a whole number"));
    }
}
