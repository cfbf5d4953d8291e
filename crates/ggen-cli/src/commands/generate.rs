//! `ggen new` and `ggen update`: projects generated from packages. Parsing the
//! flags, asking questions on a terminal, printing the report.

use std::io::IsTerminal;
use std::process::ExitCode;

use ggen_marketplace::template::{Outcome, coerce};
use ggen_marketplace::template::{Prompter, Question};
use ggen_marketplace::{
    GenerateOptions, GenerateReport, ProjectUpdateOptions, ProjectUpdateReport,
};
use semver::VersionReq;
use serde_json::Value;

use crate::args::{GenerateArgs, NewArgs, ProjectUpdateArgs};
use crate::failure::{CliResult, Failure};
use crate::output::{self, safe};

pub fn new(a: &NewArgs) -> CliResult {
    let g = &a.common.global;
    let (name, req) = super::parse_spec(&a.package)?;
    let mp = super::open_seeded(g, a.common.dry_run)?;
    let opts = GenerateOptions {
        vars: parse_vars(&a.common.vars)?,
        answers_file: a.answers.clone(),
        include_optional: a.with_optional,
        verify_signatures: a.common.verify_signature,
        dry_run: a.common.dry_run,
    };
    let mut prompter = TerminalPrompter;
    let report = super::install::with_progress(g, |on| {
        mp.generate(
            &name,
            &req,
            &a.dir,
            &opts,
            prompt(&a.common, &mut prompter),
            on,
        )
    })?;
    print_new(&report, g.json);
    Ok(ExitCode::SUCCESS)
}

pub fn update(a: &ProjectUpdateArgs) -> CliResult {
    let g = &a.common.global;
    let to =
        a.to.as_deref()
            .map(|r| {
                VersionReq::parse(r).map_err(|e| {
                    Failure::new(format!("--to `{r}` is not a version requirement: {e}"))
                        .hint("for example --to ^2, --to '>=1.4, <2' or --to =1.4.0")
                })
            })
            .transpose()?;
    let mp = super::open_seeded(g, a.common.dry_run)?;
    let opts = ProjectUpdateOptions {
        to,
        vars: parse_vars(&a.common.vars)?,
        dry_run: a.common.dry_run,
        verify_signatures: a.common.verify_signature,
        include_optional: a.with_optional,
    };
    let mut prompter = TerminalPrompter;
    let report = super::install::with_progress(g, |on| {
        mp.update_project(&a.dir, &opts, prompt(&a.common, &mut prompter), on)
    })?;
    print_update(&report, g.json);
    // As `git merge` does: conflicts written into files are a failure to
    // finish, for scripts as for people.
    Ok(if report.conflicts.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// `NAME=VALUE` pairs.
fn parse_vars(vars: &[String]) -> CliResult<Vec<(String, String)>> {
    vars.iter()
        .map(|v| match v.split_once('=') {
            Some((k, val)) if !k.trim().is_empty() => Ok((k.trim().to_string(), val.to_string())),
            _ => Err(Failure::new(format!("--var `{v}` is not NAME=VALUE"))
                .hint("for example --var project_name=demo")),
        })
        .collect()
}

/// Prompts only when a person can answer: stdin and stderr on a terminal, no
/// `--defaults`, no `--json`.
fn prompt<'a>(common: &GenerateArgs, p: &'a mut TerminalPrompter) -> Option<&'a mut dyn Prompter> {
    let interactive = !common.defaults
        && !common.global.json
        && std::io::stdin().is_terminal()
        && std::io::stderr().is_terminal();
    interactive.then_some(p as &mut dyn Prompter)
}

/// Questions on the terminal, through dialoguer.
struct TerminalPrompter;

impl Prompter for TerminalPrompter {
    fn ask(&mut self, q: &Question<'_>) -> Result<Value, String> {
        use dialoguer::{Confirm, Input, Select};
        use ggen_marketplace::core::manifest::VariableType;
        if let Some(e) = &q.error {
            eprintln!("  {}", safe(e));
        }
        let prompt = match &q.variable.description {
            Some(d) => format!("{} ({})", safe(d), q.name),
            None => q.name.to_string(),
        };
        let io = |e: dialoguer::Error| e.to_string();
        match q.variable.kind() {
            VariableType::Boolean => {
                let default = matches!(q.default, Some(Value::Bool(true)));
                Confirm::new()
                    .with_prompt(prompt)
                    .default(default)
                    .interact()
                    .map(Value::Bool)
                    .map_err(io)
            }
            VariableType::Choice => {
                let items: Vec<String> = q
                    .variable
                    .choices
                    .iter()
                    .map(|c| match c {
                        Value::String(s) => safe(s),
                        other => other.to_string(),
                    })
                    .collect();
                let default = q
                    .default
                    .as_ref()
                    .and_then(|d| q.variable.choices.iter().position(|c| c == d))
                    .unwrap_or(0);
                let i = Select::new()
                    .with_prompt(prompt)
                    .items(&items)
                    .default(default)
                    .interact()
                    .map_err(io)?;
                Ok(q.variable.choices[i].clone())
            }
            _ => {
                let mut input = Input::<String>::new().with_prompt(prompt);
                if let Some(d) = &q.default {
                    input = input.default(match d {
                        Value::String(s) => s.clone(),
                        Value::Array(items) => items
                            .iter()
                            .map(|i| {
                                i.as_str()
                                    .map(str::to_string)
                                    .unwrap_or_else(|| i.to_string())
                            })
                            .collect::<Vec<_>>()
                            .join(","),
                        other => other.to_string(),
                    });
                }
                let text = input.allow_empty(true).interact_text().map_err(io)?;
                coerce(q.variable, Value::String(text))
            }
        }
    }
}

fn print_new(r: &GenerateReport, json: bool) {
    for w in &r.warnings {
        eprintln!("warning: {}", safe(w));
    }
    if json {
        output::report(r);
        return;
    }
    let dry = if r.dry_run { "(dry run) " } else { "" };
    for f in &r.files {
        println!("{dry}+ {}  ({})", safe(&f.path), safe(&f.package));
    }
    if !r.answers.is_empty() {
        println!("Answers:");
        for (k, v) in &r.answers {
            println!("  {k} = {}", safe(&v.to_string()));
        }
    }
    let packages = r
        .packages
        .iter()
        .map(|p| format!("{} {}", p.name, p.version))
        .collect::<Vec<_>>()
        .join(", ");
    if r.dry_run {
        println!(
            "Dry run: {} files from {} would be written to {}; nothing was written.",
            r.files.len(),
            safe(&packages),
            r.dir.display()
        );
    } else {
        println!(
            "Generated {} from {} ({} files; answers in {}). `ggen update {}` brings it to newer versions later.",
            r.dir.display(),
            safe(&packages),
            r.files.len(),
            r.dir
                .join(ggen_marketplace::template::ANSWERS_FILE)
                .display(),
            r.dir.display()
        );
    }
}

fn print_update(r: &ProjectUpdateReport, json: bool) {
    for w in &r.warnings {
        eprintln!("warning: {}", safe(w));
    }
    if r.rolled_back {
        eprintln!(
            "Rolled back an interrupted update of {} first.",
            r.dir.display()
        );
    }
    if json {
        output::report(r);
        return;
    }
    if r.up_to_date {
        println!(
            "{} is up to date with {} {}.",
            r.dir.display(),
            safe(&r.package),
            r.to
        );
        return;
    }
    if r.dry_run {
        print!("{}", r.diff);
    }
    let dry = if r.dry_run { "(dry run) " } else { "" };
    for c in &r.changes {
        let what = match c.outcome {
            Outcome::Added => "added",
            Outcome::Updated => "updated",
            Outcome::Merged => "merged with your edits",
            Outcome::Conflict => "CONFLICT (both changed the same lines: resolve the markers)",
            Outcome::Removed => "removed (gone upstream)",
            Outcome::KeptEdited => "kept: removed upstream, but you edited it",
            Outcome::KeptDeleted => "left deleted: you deleted it, upstream changed it",
        };
        println!("{dry}{}: {what}", safe(&c.path));
    }
    if r.dry_run {
        println!(
            "Dry run: {} {} -> {}; nothing was written.",
            safe(&r.package),
            r.from,
            r.to
        );
    } else if r.conflicts.is_empty() {
        println!(
            "Updated {} from {} {} to {}.",
            r.dir.display(),
            safe(&r.package),
            r.from,
            r.to
        );
    } else {
        println!(
            "Updated {} from {} {} to {} with conflicts in {} file(s): {}. Edit them to remove the <<<<<<< ======= >>>>>>> markers.",
            r.dir.display(),
            safe(&r.package),
            r.from,
            r.to,
            r.conflicts.len(),
            r.conflicts
                .iter()
                .map(|c| safe(c))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
}
