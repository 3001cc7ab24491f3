//! Turns a failed Alembic run into a cause and a next step, using the table in
//! `remediation.toml` (kept as data: one row per failure kind).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::LazyLock;

use regex::Regex;
use serde::Deserialize;

use crate::alembic::{parse, Output};
use crate::failure::{Failure, Kind};
use crate::graph::Graph;
use crate::mask;
use crate::target::Target;
use crate::workspace::Config;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Table {
    row: Vec<RawRow>,
}

/// One row of the table as written: which failure it is, the lines that show it, and the words.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRow {
    pub kind: Kind,
    patterns: Vec<String>,
    #[serde(default)]
    extract: Vec<String>,
    #[serde(default)]
    pub applies: Option<Condition>,
    pub message: String,
    pub cause: String,
    pub fix: String,
}

/// What must hold, besides a pattern matching, for a row to apply (`applies` in the table).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Condition {
    /// `{rev}` is the target the command was given.
    RevIsTarget,
    /// `{rev}` is not the target.
    RevIsNotTarget,
    /// The run was Alembic's offline mode (`--sql`).
    Offline,
    /// The launcher exited non-zero and nothing it printed shows Python running Alembic (the row
    /// applies then even when the launcher printed nothing).
    LauncherFailedAlone,
    /// The launcher was the workspace's `./py`.
    LauncherIsPy,
    /// The launcher was not `./py` (`--python`, or a system python3).
    LauncherIsNotPy,
    /// An online upgrade/downgrade whose migration asked a question.
    AsksInput,
    /// As `asks-input`, and the revision file reads an environment variable (`{env}`).
    AsksInputEnv,
    /// `{module}` is the config's script package, and it is absent from the checkout.
    ModuleIsScriptPackage,
}

impl Condition {
    /// How the generated reference page says when the row applies.
    pub fn describe(self) -> &'static str {
        match self {
            Condition::RevIsTarget => "when `{rev}` is the target given",
            Condition::RevIsNotTarget => "when `{rev}` is not the target given",
            Condition::Offline => "under `--sql` (Alembic's offline mode)",
            Condition::LauncherFailedAlone => {
                "when the launcher failed before Python ran Alembic (even if it printed nothing)"
            }
            Condition::LauncherIsPy => "when the launcher is the workspace's `./py`",
            Condition::LauncherIsNotPy => "when the launcher is not `./py`",
            Condition::AsksInput => "in an online upgrade or downgrade",
            Condition::AsksInputEnv => {
                "in an online upgrade or downgrade, when the revision file reads the answer from an environment variable (`{env}`)"
            }
            Condition::ModuleIsScriptPackage => {
                "when `{module}` is the config's script package and it is absent from the checkout"
            }
        }
    }
}

struct Row {
    raw: RawRow,
    patterns: Vec<Regex>,
    extract: Vec<Regex>,
}

/// Parse a table: an unknown kind, condition or field, or a pattern that is not a regex, is an
/// error.
fn load(text: &str) -> Result<Vec<Row>, String> {
    let table: Table = toml::from_str(text).map_err(|e| e.to_string())?;
    let compile = |patterns: &[String]| {
        patterns
            .iter()
            .map(|p| Regex::new(p).map_err(|e| format!("pattern {p}: {e}")))
            .collect::<Result<Vec<_>, _>>()
    };
    table
        .row
        .into_iter()
        .map(|raw| {
            Ok(Row {
                patterns: compile(&raw.patterns)?,
                extract: compile(&raw.extract)?,
                raw,
            })
        })
        .collect()
}

static TABLE: LazyLock<Vec<Row>> = LazyLock::new(|| {
    load(include_str!("remediation.toml")).unwrap_or_else(|e| panic!("remediation.toml: {e}"))
});

/// The rows of the table, in order (for the generated reference page).
pub fn rows() -> impl Iterator<Item = &'static RawRow> {
    TABLE.iter().map(|row| &row.raw)
}

/// What is known about the failed run, for the placeholders.
pub struct Context<'a> {
    pub config: &'a Config,
    pub target: Option<&'a Target>,
    pub graph: Option<&'a Graph>,
    /// The run was Alembic's offline mode (`--sql`): no database connection.
    pub offline: bool,
}

impl<'a> Context<'a> {
    /// A failure of `config` with nothing more known (no target, no graph, online).
    pub fn of(config: &'a Config) -> Context<'a> {
        Context {
            config,
            target: None,
            graph: None,
            offline: false,
        }
    }

    fn vars(&self) -> HashMap<String, String> {
        let c = self.config;
        let url = c.url.as_ref();
        let mut vars = HashMap::new();
        vars.insert("component".into(), c.label.clone());
        vars.insert("ini".into(), c.ini_arg.clone());
        vars.insert("select".into(), select_flag(c));
        vars.insert(
            "host_port".into(),
            url.map(|u| u.host_port())
                .unwrap_or_else(|| "the configured host".into()),
        );
        vars.insert(
            "user".into(),
            url.and_then(|u| u.user.clone())
                .unwrap_or_else(|| "postgres".into()),
        );
        vars.insert(
            "db".into(),
            url.and_then(|u| u.database.clone()).unwrap_or_default(),
        );
        vars.insert(
            "template".into(),
            c.component
                .map(|c| c.template().to_owned())
                .unwrap_or_else(|| "the halfstack template in configs/".into()),
        );
        vars.insert(
            "target".into(),
            self.target.map(|t| t.to_string()).unwrap_or_default(),
        );
        vars.insert("step".into(), "(unknown step)".into());
        if let Some(graph) = self.graph {
            let heads = graph.heads();
            vars.insert(
                "heads".into(),
                heads
                    .iter()
                    .map(|&i| graph.rev(i).id.clone())
                    .collect::<Vec<_>>()
                    .join(", "),
            );
            vars.insert(
                "heads_detail".into(),
                heads
                    .iter()
                    .map(|&i| {
                        let r = graph.rev(i);
                        format!(
                            "{} ({}, \"{}\")",
                            r.id,
                            r.path.as_deref().unwrap_or("?"),
                            r.message
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("; "),
            );
        } else {
            vars.insert("heads".into(), "several heads".into());
            vars.insert(
                "heads_detail".into(),
                format!("db-migrate heads {} lists them", select_flag(c)),
            );
        }
        vars
    }
}

/// `--component X` or `--config PATH`, plus `-C DIR` when the workspace is not the one found from
/// here: how to select this config again in a command that works when pasted.
pub fn select_flag(c: &Config) -> String {
    let select = match c.component {
        Some(component) if c.ini_arg == component.ini() => {
            format!("--component {}", component.name())
        }
        _ => format!("--config {}", crate::workspace::shell::word(&c.ini_arg)),
    };
    match crate::workspace::shell::workdir_flag(&c.root) {
        Some(dir) => format!("{select} -C {dir}"),
        None => select,
    }
}

/// Explain a failed run: the first matching row, or a generic failure with the last error line.
pub fn diagnose(command: &str, output: &Output, ctx: &Context) -> Failure {
    if output.interrupted {
        return Failure::new(
            Kind::Interrupted,
            format!(
                "interrupted while running alembic {command} for {}",
                ctx.config.label
            ),
            "db-migrate received SIGINT/SIGTERM and stopped Alembic",
            format!("db-migrate status {}", select_flag(ctx.config)),
        );
    }
    let lines: Vec<String> = output
        .stdout
        .iter()
        .chain(output.stderr.iter())
        .map(|l| mask::mask(l).into_owned())
        .collect();
    let target_mentions = |rev: &str| ctx.target.is_some_and(|t| t.mentions(rev));
    let running = running_step(&lines, ctx);
    let running_file = running.as_ref().and_then(|r| r.path.clone());
    let launcher_failed = launcher_failed_alone(output, &lines);
    for row in TABLE.iter() {
        let applies = row.raw.applies;
        // A launcher that failed on its own may have printed nothing at all.
        let matched = first_match(&row.patterns, &lines).or_else(|| {
            (applies == Some(Condition::LauncherFailedAlone) && launcher_failed)
                .then(|| (String::new(), HashMap::new()))
        });
        let Some((line, caps)) = matched else {
            continue;
        };
        let mut vars = ctx.vars();
        vars.extend(launcher_vars(command, output, ctx.config));
        let mut named: HashMap<String, String> = caps;
        for re in &row.extract {
            for l in &lines {
                if let Some(c) = re.captures(l) {
                    for name in re.capture_names().flatten() {
                        if let Some(m) = c.name(name) {
                            named.insert(name.to_owned(), m.as_str().to_owned());
                        }
                    }
                }
            }
        }
        // Where the failure points: the migration running (its file), else nothing.
        let mut at = running
            .as_ref()
            .and_then(|r| r.path.as_deref())
            .and_then(|path| relative(ctx.config, path))
            .map(|file| (file, None));
        match applies {
            Some(Condition::RevIsTarget)
                if !named.get("rev").is_some_and(|r| target_mentions(r)) =>
            {
                continue
            }
            Some(Condition::RevIsNotTarget)
                if named.get("rev").is_some_and(|r| target_mentions(r)) =>
            {
                continue
            }
            Some(Condition::Offline) if !ctx.offline => continue,
            Some(Condition::LauncherFailedAlone) if !launcher_failed => continue,
            Some(Condition::LauncherIsPy) if output.launcher.as_deref() != Some("./py") => continue,
            Some(Condition::LauncherIsNotPy) if output.launcher.as_deref() == Some("./py") => {
                continue
            }
            // A question only an online upgrade/downgrade can be given an answer for.
            Some(Condition::AsksInput | Condition::AsksInputEnv)
                if ctx.offline || !matches!(command, "upgrade" | "downgrade") =>
            {
                continue
            }
            Some(condition @ (Condition::AsksInput | Condition::AsksInputEnv)) => {
                let asked = asked_input(output, ctx, running_file.as_deref());
                match asked.env {
                    Some(env) => {
                        vars.insert("env".into(), env);
                    }
                    None if condition == Condition::AsksInputEnv => continue,
                    None => {}
                }
                vars.insert("question".into(), asked.question);
                vars.insert("file_line".into(), asked.file_line);
                if let Some(file) = asked.file {
                    at = Some((file, asked.line));
                }
            }
            Some(Condition::ModuleIsScriptPackage)
                if !named
                    .get("module")
                    .is_some_and(|m| is_script_package(ctx.config, m)) =>
            {
                continue
            }
            _ => {}
        }
        if let Some(running) = &running {
            vars.insert("step".into(), running.shown.clone());
        }
        // A file and line the row's own groups name (a syntax error's traceback frame).
        if let Some(file) = named
            .get("file")
            .and_then(|f| relative(ctx.config, std::path::Path::new(f)))
        {
            at = Some((file, named.get("line").and_then(|l| l.parse().ok())));
        }
        let revision = named
            .get("rev")
            .cloned()
            .or_else(|| running.as_ref().and_then(|r| r.id.clone()));
        for (k, v) in named {
            vars.insert(k, v);
        }
        let fill = |t: &str| mask::mask(&fill_template(t, &vars)).into_owned();
        // The launcher's own last line, rather than the first line it happened to print.
        let line = if applies == Some(Condition::LauncherFailedAlone) {
            last_words(&output.stderr, 1).pop()
        } else {
            Some(line)
        };
        let mut failure = Failure::new(
            row.raw.kind,
            fill(&row.raw.message),
            fill(&row.raw.cause),
            fill(&row.raw.fix),
        )
        .with_alembic_line(line.map(|l| mask::mask(&l).into_owned()));
        failure.revision = revision;
        failure.server = server_of(&row.raw, ctx.config);
        if let Some((file, line)) = at {
            failure = failure.at_file(file, line);
        }
        return failure;
    }
    let line = parse::failed(&output.stdout)
        .map(|f| format!("FAILED: {f}"))
        .or_else(|| parse::exception(&output.stderr))
        .or_else(|| {
            output
                .stderr
                .iter()
                .rev()
                .find(|l| !l.trim().is_empty())
                .cloned()
        })
        .map(|l| mask::mask(&l).into_owned());
    let status = match output.code {
        Some(code) => format!("exit {code}"),
        None => "killed by a signal".to_owned(),
    };
    let during = running
        .as_ref()
        .map_or_else(String::new, |r| format!(" in migration {}", r.shown));
    let mut failure = Failure::new(
        Kind::AlembicFailed,
        format!(
            "alembic {command} failed for {}{during} ({status})",
            ctx.config.label
        ),
        "Alembic reported an error that db-migrate does not recognise",
        "run the same db-migrate command with -v to see Alembic's full output",
    )
    .with_alembic_line(line);
    if let Some(running) = running {
        failure.revision = running.id;
        if let Some(file) = running
            .path
            .as_deref()
            .and_then(|p| relative(ctx.config, p))
        {
            failure = failure.at_file(file, None);
        }
    }
    failure
}

fn relative(config: &Config, path: &std::path::Path) -> Option<PathBuf> {
    crate::failure::relative(&config.root, path)
}

/// The server (`host:port`) a row is about: the config's, when the row's words name it.
fn server_of(row: &RawRow, config: &Config) -> Option<String> {
    let names_it = [&row.message, &row.cause, &row.fix]
        .iter()
        .any(|t| t.contains("{host_port}"));
    names_it
        .then(|| config.url.as_ref().map(|u| u.host_port()))
        .flatten()
}

/// What a migration that called `input()` with stdin closed asked, and where.
struct Asked {
    /// `"Convert user ids? [y/n]"`, quoted: the text the migration printed last on stdout
    /// (`input()` writes its prompt there without a newline), or a note that there was none.
    question: String,
    /// `path/to/rev.py:13` (the `input()` call, from the traceback), or the revision's file.
    file_line: String,
    /// The same, typed: the file relative to the root (when it is in the workspace) and the line.
    file: Option<PathBuf>,
    line: Option<usize>,
    /// The environment variable the revision file reads (`os.environ.get("X")`, `os.environ["X"]`,
    /// `os.getenv("X")`), nearest before the `input()` call.
    env: Option<String>,
}

static TRACEBACK_FRAME: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"^\s*File "([^"]+)", line (\d+)"#).expect("valid regex"));

fn asked_input(output: &Output, ctx: &Context, running_file: Option<&std::path::Path>) -> Asked {
    let question = output
        .stdout
        .iter()
        .rev()
        .map(|l| l.trim())
        .find(|l| !l.is_empty())
        .map_or_else(
            || "(input() without a prompt)".to_owned(),
            |q| format!("\"{}\"", mask::mask(q)),
        );
    // The innermost frame in the running revision's file (else in the checkout) is the call.
    let frames: Vec<(PathBuf, usize)> = output
        .stderr
        .iter()
        .filter_map(|l| TRACEBACK_FRAME.captures(l))
        .filter_map(|c| Some((PathBuf::from(&c[1]), c[2].parse().ok()?)))
        .collect();
    let call = frames
        .iter()
        .rev()
        .find(|(path, _)| Some(path.as_path()) == running_file)
        .or_else(|| {
            frames
                .iter()
                .rev()
                .find(|(path, _)| running_file.is_none() && path.starts_with(&ctx.config.root))
        })
        .cloned();
    let file = call
        .as_ref()
        .map(|(path, _)| path.clone())
        .or_else(|| running_file.map(std::path::Path::to_path_buf));
    let shown = |path: &std::path::Path| {
        path.strip_prefix(&ctx.config.root)
            .unwrap_or(path)
            .display()
            .to_string()
    };
    let file_line = match (&call, &file) {
        (Some((path, line)), _) => format!("{}:{line}", shown(path)),
        (None, Some(path)) => shown(path),
        (None, None) => "in its file".to_owned(),
    };
    let call_line = call.as_ref().map(|&(_, line)| line);
    let env = file.as_deref().and_then(|path| {
        let text = std::fs::read(path).ok()?;
        env_var_read(&String::from_utf8_lossy(&text), call_line)
    });
    Asked {
        question,
        file_line,
        env,
        file: file.as_deref().and_then(|p| relative(ctx.config, p)),
        line: call_line,
    }
}

static ENV_READ: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r#"\b(?:os\.)?(?:environ\.get|getenv)\(\s*["']([A-Za-z_][A-Za-z0-9_]*)["']"#,
        r#"|\b(?:os\.)?environ\[\s*["']([A-Za-z_][A-Za-z0-9_]*)["']\s*\]"#,
    ))
    .expect("valid regex")
});
static INPUT_CALL: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\binput\s*\(").expect("valid regex"));

/// The environment variable a migration reads as the answer to its `input()`: of the variables
/// the file reads (outside comments), the nearest one at or before the `input()` call (`line`,
/// else the first line calling `input(`); else the only one the file reads.
fn env_var_read(source: &str, line: Option<usize>) -> Option<String> {
    let code = |l: &str| l.split_once('#').map_or(l, |(code, _)| code).to_owned();
    let reads: Vec<(usize, String)> = source
        .lines()
        .enumerate()
        .flat_map(|(n, l)| {
            ENV_READ
                .captures_iter(&code(l))
                .filter_map(|c| c.get(1).or_else(|| c.get(2)))
                .map(|m| (n + 1, m.as_str().to_owned()))
                .collect::<Vec<_>>()
        })
        .collect();
    let call = line.or_else(|| {
        source
            .lines()
            .position(|l| INPUT_CALL.is_match(&code(l)))
            .map(|n| n + 1)
    });
    if let Some(call) = call {
        if let Some((_, name)) = reads.iter().rev().find(|(n, _)| *n <= call) {
            return Some(name.clone());
        }
    }
    let mut names: Vec<&String> = reads.iter().map(|(_, name)| name).collect();
    names.sort();
    names.dedup();
    match names.as_slice() {
        [one] => Some((*one).clone()),
        _ => None,
    }
}

/// The launcher failed by itself: it exited non-zero and nothing it printed shows Python running
/// Alembic (`pants: export failed`, a venv bootstrap's error, a shell error, or nothing at all).
fn launcher_failed_alone(output: &Output, lines: &[String]) -> bool {
    output.launcher.is_some()
        && output.code.is_some_and(|c| c != 0)
        && !lines.iter().any(|l| parse::alembic_ran(l))
}

/// The last `n` non-empty lines of `stderr`, oldest first.
fn last_words(stderr: &[String], n: usize) -> Vec<String> {
    let mut words: Vec<String> = stderr
        .iter()
        .rev()
        .map(|l| l.trim())
        .filter(|l| !l.is_empty())
        .take(n)
        .map(str::to_owned)
        .collect();
    words.reverse();
    words
}

/// `{launcher}`, `{status}`, `{launcher_said}` (what it printed besides its last line),
/// `{in_root}` (`cd DIR && ` when needed) and
/// `{command}`: what the launcher rows say.
fn launcher_vars(command: &str, output: &Output, config: &Config) -> Vec<(String, String)> {
    // The last line is shown as `alembic:`; the cause adds the two before it.
    let mut said = last_words(&output.stderr, 3);
    let said = match said.pop() {
        None => "it printed nothing".to_owned(),
        Some(_) if said.is_empty() => "the line above is all it printed".to_owned(),
        Some(_) => format!("before the line above it printed: {}", said.join(" | ")),
    };
    let status = match output.code {
        Some(code) => format!("exit status {code}"),
        None => "killed by a signal".to_owned(),
    };
    [
        (
            "launcher",
            output
                .launcher
                .clone()
                .unwrap_or_else(|| "the launcher".to_owned()),
        ),
        ("status", status),
        ("launcher_said", mask::mask(&said).into_owned()),
        (
            "in_root",
            crate::workspace::shell::cd_prefix(&config.root).unwrap_or_default(),
        ),
        ("command", command.to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

/// The row of `kind` rendered for a failure db-migrate foresees itself (before or instead of an
/// Alembic run), with `named` filling the row's own placeholders. Same words as when Alembic
/// reports it.
pub fn explain(kind: Kind, ctx: &Context, named: &[(&str, String)]) -> Failure {
    let row = TABLE
        .iter()
        .find(|r| r.raw.kind == kind)
        .unwrap_or_else(|| panic!("remediation.toml has no row {kind}"));
    let mut vars = ctx.vars();
    for (k, v) in named {
        vars.insert((*k).to_owned(), v.clone());
    }
    let fill = |t: &str| mask::mask(&fill_template(t, &vars)).into_owned();
    let mut failure = Failure::new(
        row.raw.kind,
        fill(&row.raw.message),
        fill(&row.raw.cause),
        fill(&row.raw.fix),
    );
    failure.revision = named
        .iter()
        .find(|(k, _)| *k == "rev")
        .map(|(_, v)| v.clone());
    failure.server = server_of(&row.raw, ctx.config);
    failure
}

/// The migration that was running when the run failed.
struct Running {
    /// `A -> B (message, path/to/B.py)`.
    shown: String,
    /// The revision running: the destination of an upgrade step, the origin of a downgrade's.
    id: Option<String>,
    /// Its file (absolute), when the scripts were read.
    path: Option<PathBuf>,
}

/// The migration that was running when the run failed, from Alembic's last
/// `Running upgrade A -> B` line (or `-- Running …` comment under `--sql`).
fn running_step(lines: &[String], ctx: &Context) -> Option<Running> {
    let known = |id: &str| ctx.graph.is_some_and(|g| g.contains(id));
    let step = parse::last_step(lines.iter(), known)?;
    let show = |ids: &[String]| {
        if ids.is_empty() {
            "base".to_owned()
        } else {
            ids.join(", ")
        }
    };
    // The migration running is the destination of an upgrade step, the origin of a downgrade's.
    let running = match step.direction.as_str() {
        "downgrade" => step.from.first(),
        _ => step.to.first(),
    };
    let path = ctx
        .graph
        .zip(running)
        .and_then(|(g, id)| g.index_of(id).and_then(|i| g.rev(i).path.clone()))
        .map(|p| ctx.config.root.join(p));
    let file = path.as_ref().map(|path| {
        path.strip_prefix(&ctx.config.root)
            .unwrap_or(path)
            .to_string_lossy()
            .into_owned()
    });
    let mut detail: Vec<String> = Vec::new();
    if !step.message.is_empty() {
        detail.push(format!("\"{}\"", step.message));
    }
    detail.extend(file);
    let detail = if detail.is_empty() {
        String::new()
    } else {
        format!(" ({})", detail.join(", "))
    };
    Some(Running {
        shown: format!("{} -> {}{detail}", show(&step.from), show(&step.to)),
        id: running.cloned(),
        path,
    })
}

/// The first line a pattern matches, trying unindented lines first: in a traceback the indented
/// lines are source code (`    raise OSError(err, f'Connect call failed …')`), the error is not.
fn first_match(patterns: &[Regex], lines: &[String]) -> Option<(String, HashMap<String, String>)> {
    let (plain, indented): (Vec<&String>, Vec<&String>) =
        lines.iter().partition(|l| !l.starts_with([' ', '\t']));
    for line in plain.into_iter().chain(indented) {
        for re in patterns {
            if let Some(c) = re.captures(line) {
                let named = re
                    .capture_names()
                    .flatten()
                    .filter_map(|n| c.name(n).map(|m| (n.to_owned(), m.as_str().to_owned())))
                    .collect();
                return Some((line.trim().to_owned(), named));
            }
        }
    }
    None
}

/// Whether `module` is (a parent of) the package of the config's `pkg.module:dir`
/// script_location *and* that package is absent from the checkout (root or `src/`). When the
/// directory is there, the module is missing because of the environment (e.g. no PYTHONPATH=src).
fn is_script_package(config: &Config, module: &str) -> bool {
    let Some((package, _)) = config
        .ini
        .get("alembic", "script_location")
        .and_then(|loc| loc.split_once(':'))
    else {
        return false;
    };
    let ours = package == module || package.starts_with(&format!("{module}."));
    let dir: std::path::PathBuf = package.split('.').collect();
    ours && !config.root.join("src").join(&dir).is_dir() && !config.root.join(&dir).is_dir()
}

fn fill_template(template: &str, vars: &HashMap<String, String>) -> String {
    let mut out = template.to_owned();
    for (k, v) in vars {
        out = out.replace(&format!("{{{k}}}"), v);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_loads_and_every_row_has_patterns() {
        assert!(TABLE.len() >= 20);
        let mut kinds = std::collections::HashSet::new();
        for row in TABLE.iter() {
            assert!(!row.patterns.is_empty(), "{} has no pattern", row.raw.kind);
            // A kind appears once, unless a narrowed row (`applies`) adds another way to detect it.
            assert!(
                kinds.insert(row.raw.kind) || row.raw.applies.is_some(),
                "{} twice",
                row.raw.kind
            );
        }
    }

    /// A row as the table writes it, with `kind` and `applies` to be filled in.
    const ROW: &str = r#"
[[row]]
kind = "KIND"
APPLIES
patterns = ["x"]
message = "m"
cause = "c"
fix = "f"
"#;

    fn table(kind: &str, applies: Option<&str>) -> Result<Vec<Row>, String> {
        let applies = applies.map_or_else(String::new, |a| format!("applies = \"{a}\""));
        load(&ROW.replace("KIND", kind).replace("APPLIES", &applies))
    }

    #[test]
    fn the_real_table_loads() {
        let rows = load(include_str!("remediation.toml")).expect("remediation.toml loads");
        assert_eq!(rows.len(), TABLE.len());
        assert!(table("connection-refused", Some("rev-is-target")).is_ok());
    }

    #[test]
    fn an_unknown_kind_is_a_load_error() {
        let e = table("conection-refused", None)
            .err()
            .expect("a load error");
        assert!(e.contains("conection-refused"), "{e}");
    }

    #[test]
    fn an_unknown_condition_is_a_load_error() {
        let e = table("connection-refused", Some("rev-is-taget"))
            .err()
            .expect("a load error");
        assert!(e.contains("rev-is-taget"), "{e}");
    }

    #[test]
    fn an_unknown_field_is_a_load_error() {
        let e = load(
            &ROW.replace("KIND", "bad-host")
                .replace("APPLIES", "aplies = \"offline\""),
        )
        .err()
        .expect("a load error");
        assert!(e.contains("aplies"), "{e}");
    }

    #[test]
    fn a_row_that_names_the_server_carries_it() {
        let rows = load(include_str!("remediation.toml")).unwrap();
        let names = |kind| {
            rows.iter()
                .filter(|r| r.raw.kind == kind)
                .any(|r| r.raw.message.contains("{host_port}"))
        };
        assert!(names(Kind::ConnectionRefused));
        assert!(!names(Kind::MultipleHeads));
    }

    fn config(url: Option<&str>) -> Config {
        Config {
            label: "manager".into(),
            component: Some(crate::component::Component::Manager),
            ini_arg: "alembic.ini".into(),
            url: url.map(|u| crate::workspace::ini::DbUrl::parse(u).unwrap()),
            ini: crate::workspace::ini::Ini::default(),
            root: std::path::PathBuf::from("/repo"),
        }
    }

    fn failed(stderr: &[&str]) -> Output {
        Output {
            code: Some(1),
            stderr: stderr.iter().map(|l| (*l).to_owned()).collect(),
            launcher: Some("./py".into()),
            ..Output::default()
        }
    }

    #[test]
    fn a_syntax_error_points_at_its_file_and_line() {
        let config = config(None);
        let output = failed(&[
            "Traceback (most recent call last):",
            "  File \"/repo/src/ai/backend/manager/models/alembic/versions/a1_x.py\", line 12",
            "    op.add_column(",
            "SyntaxError: '(' was never closed",
        ]);
        let f = diagnose("upgrade", &output, &Context::of(&config));
        assert_eq!(f.kind, Kind::MigrationSyntaxError);
        assert_eq!(
            f.file.as_deref(),
            Some(std::path::Path::new(
                "src/ai/backend/manager/models/alembic/versions/a1_x.py"
            ))
        );
        assert_eq!(f.line, Some(12));
        assert_eq!(f.server, None);
    }

    #[test]
    fn a_connection_failure_names_the_server_and_a_missing_revision_the_revision() {
        let config = config(Some("postgresql://u:secret@db.example:8100/backend"));
        let f = diagnose(
            "current",
            &failed(&["ConnectionRefusedError: [Errno 111] Connection refused"]),
            &Context::of(&config),
        );
        assert_eq!(f.kind, Kind::ConnectionRefused);
        assert_eq!(f.server.as_deref(), Some("db.example:8100"));
        assert_eq!((f.revision, f.file), (None, None));

        let f = diagnose(
            "current",
            &failed(&["FAILED: Can't locate revision identified by 'abc123'"]),
            &Context::of(&config),
        );
        assert_eq!(f.kind, Kind::UnknownDbRevision);
        assert_eq!(f.revision.as_deref(), Some("abc123"));
        assert_eq!(f.server, None);
    }

    #[test]
    fn explain_fills_every_placeholder_of_the_foreseen_rows() {
        let config = Config {
            label: "manager".into(),
            component: Some(crate::component::Component::Manager),
            ini_arg: "alembic.ini".into(),
            url: None,
            ini: crate::workspace::ini::Ini::default(),
            root: std::path::PathBuf::from("/repo"),
        };
        let ctx = Context {
            config: &config,
            target: None,
            graph: None,
            offline: false,
        };
        for (kind, named) in [
            (Kind::UnknownTarget, vec![("rev", "ffff".to_owned())]),
            (Kind::MultipleHeads, vec![]),
            (Kind::RelativeOvershoot, vec![]),
            (
                Kind::WrongDirection,
                vec![
                    ("rev", "a1".to_owned()),
                    ("direction", "downgrade".to_owned()),
                ],
            ),
            (
                Kind::OverlappingVersions,
                vec![("rev", "a2".to_owned()), ("others", "a1".to_owned())],
            ),
        ] {
            let f = explain(kind, &ctx, &named);
            for text in [&f.message, &f.cause, &f.fix] {
                assert!(
                    !text.contains('{'),
                    "{kind}: unfilled placeholder in {text}"
                );
            }
        }
    }

    #[test]
    fn finds_the_environment_variable_a_question_reads() {
        let stringify = r#"
import os

def upgrade():
    conn = op.get_bind()
    # os.environ.get("COMMENTED_OUT")
    choice = os.environ.get("STRINGIFY_USERID_CHOICE")
    if choice is None:
        print("Convert the user ids?")
        choice = input("Choose (a/b): ")
"#;
        assert_eq!(
            env_var_read(stringify, Some(10)).as_deref(),
            Some("STRINGIFY_USERID_CHOICE")
        );
        assert_eq!(
            env_var_read(stringify, None).as_deref(),
            Some("STRINGIFY_USERID_CHOICE")
        );
        let forms =
            "a = os.environ['A']\nb = getenv(\"B\")\nc = input()\nd = environ.get('D', 'x')\n";
        assert_eq!(env_var_read(forms, Some(3)).as_deref(), Some("B"));
        assert_eq!(env_var_read(forms, Some(1)).as_deref(), Some("A"));
        // Several variables and no call to anchor on: none is guessed.
        assert_eq!(env_var_read("os.getenv('A')\nos.getenv('B')\n", None), None);
        assert_eq!(
            env_var_read("x = input('?')\ny = os.getenv('LATE')\n", None).as_deref(),
            Some("LATE")
        );
        assert_eq!(env_var_read("choice = input('?')\n", None), None);
    }

    #[test]
    fn fills_placeholders() {
        let vars = HashMap::from([("a".to_owned(), "x".to_owned())]);
        assert_eq!(fill_template("{a}-{b}", &vars), "x-{b}");
    }
}
