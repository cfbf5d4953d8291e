use ggen_template::check_templates;

use crate::package;

#[test]
fn an_undeclared_variable_is_an_error_and_an_unused_one_a_warning() {
    let p = package(
        "app",
        "[variables]\nused = { default = \"a\" }\nunused = { default = \"b\" }\n",
        &[("f.txt", b"{{ used }} {{ typo }}\n")],
    );
    let c = check_templates(&p);
    assert_eq!(c.errors.len(), 1, "{:?}", c.errors);
    assert!(
        c.errors[0].contains("templates/f.txt uses `typo`"),
        "{:?}",
        c.errors
    );
    assert_eq!(c.warnings.len(), 1, "{:?}", c.warnings);
    assert!(
        c.warnings[0].contains("variables.unused"),
        "{:?}",
        c.warnings
    );
}

#[test]
fn names_defaults_and_conditions_count_as_uses() {
    let p = package(
        "app",
        "[variables]\nname = { default = \"a\" }\nslug = { default = \"{{ name }}\" }\nci = { default = true }\nprovider = { default = \"gh\", when = \"ci\" }\n",
        &[("{{ slug }}/{{ provider }}.txt", b"x\n")],
    );
    let c = check_templates(&p);
    assert!(c.errors.is_empty(), "{:?}", c.errors);
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);
}

#[test]
fn syntax_errors_name_the_line() {
    let p = package("app", "", &[("f.txt", b"ok\n{% if %}\n")]);
    let c = check_templates(&p);
    assert_eq!(c.errors.len(), 1, "{:?}", c.errors);
    assert!(
        c.errors[0].starts_with("templates/f.txt:2"),
        "{:?}",
        c.errors
    );
}
