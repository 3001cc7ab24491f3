//! Diverged heads, resolved the Backend.AI way, in real git repositories with a real database:
//! `status`/`heads` explain each branch back to the fork point and what is released, and
//! `fix-heads` repoints the developer's own unreleased migration (walking the database back and
//! forth when it had applied it), or refuses and changes nothing.

mod harness;

use harness::*;
use Component::Manager;

const A: &str = "a1a1a1a1a1a1";
const B: &str = "b2b2b2b2b2b2";
const F: &str = "f3f3f3f3f3f3"; // the developer's feature migration
const M: &str = "c4c4c4c4c4c4"; // main's migration, released

/// A revision file in Backend.AI's current template, with `# Part of:` after `down_revision`
/// (or none), in the plain or annotated style.
fn rev_file(id: &str, down: &str, message: &str, part_of: Option<&str>, annotated: bool) -> Rev {
    let part = part_of.map_or(String::new(), |p| format!("# Part of: {p}\n"));
    // "" is a root revision.
    let (down_py, down_plain, parent) = if down.is_empty() {
        ("None".to_owned(), "None".to_owned(), None)
    } else {
        (format!("\"{down}\""), format!("'{down}'"), Some(down))
    };
    let assignments = if annotated {
        format!(
            "revision: str = \"{id}\"\ndown_revision: Union[str, None] = {down_py}  # the previous head\n{part}branch_labels: Union[str, Sequence[str], None] = None\ndepends_on: Union[str, Sequence[str], None] = None\n"
        )
    } else {
        format!(
            "revision = '{id}'\ndown_revision = {down_plain}\n{part}branch_labels = None\ndepends_on = None\n"
        )
    };
    let table = format!("t_{id}");
    rev(id, parent, message).raw(&format!(
        "\"\"\"{message}\n\nRevision ID: {id}\nRevises: {down}\nCreate Date: 2026-11-30 10:00:00.000000\n\n\"\"\"\nfrom typing import Sequence, Union\n\nimport sqlalchemy as sa\nfrom alembic import op\n\n# revision identifiers, used by Alembic.\n{assignments}\n\ndef upgrade() -> None:\n    op.create_table(\"{table}\", sa.Column(\"id\", sa.Integer(), primary_key=True))\n\n\ndef downgrade() -> None:\n    op.drop_table(\"{table}\")\n"
    ))
}

/// main: A → B, committed. feature (checked out): F on B, then main's M on B merged in.
/// `apply_feature`: the developer had upgraded their database to F before merging.
fn diverged_repo(apply_feature: bool) -> Workspace {
    let ws = Workspace::new().component(
        Manager,
        &[
            rev_file(A, "", "create users", Some("26.8.0"), false),
            rev_file(B, A, "add email", Some("26.8.0"), true),
        ],
    );
    let root = ws.root().to_path_buf();
    ws.write_file(".gitignore", "__pycache__/\n");
    git(&root, &["init", "-q", "-b", "main"]);
    commit_all(&root, "base");
    git(&root, &["checkout", "-q", "-b", "feature"]);
    ws.add_revisions(
        Manager,
        &[rev_file(
            F,
            B,
            "add keypairs",
            Some("NEXT_RELEASE_VERSION"),
            true,
        )],
    );
    commit_all(&root, "my migration");
    if apply_feature {
        ws.db_at(Manager, F);
    } else {
        ws.db_at(Manager, B);
    }
    git(&root, &["checkout", "-q", "main"]);
    ws.add_revisions(
        Manager,
        &[rev_file(M, B, "add sessions", Some("26.9.0"), false)],
    );
    commit_all(&root, "main's migration");
    git(&root, &["checkout", "-q", "feature"]);
    git(&root, &["merge", "-q", "--no-edit", "main"]);
    ws
}

fn f_file(ws: &Workspace) -> String {
    ws.read_file(&format!(
        "{}/alembic/versions/{F}_add_keypairs.py",
        Manager.package_dir()
    ))
}

/// The lines that differ between two versions of a file (old, new).
fn changed_lines(before: &str, after: &str) -> Vec<(String, String)> {
    assert_eq!(before.lines().count(), after.lines().count());
    before
        .lines()
        .zip(after.lines())
        .filter(|(a, b)| a != b)
        .map(|(a, b)| (a.to_owned(), b.to_owned()))
        .collect()
}

#[test]
fn status_explains_each_branch_back_to_the_fork_point_and_names_the_fix() {
    let ws = diverged_repo(true);

    let r = db_migrate(&ws, &["status"]);
    assert_eq!(r.code, Some(0), "{}", r.shown);
    let versions = format!("{}/alembic/versions", Manager.package_dir());
    for expected in [
        format!("  fork     {B}  add email\n"),
        format!("{F}  add keypairs  {versions}/{F}_add_keypairs.py  unreleased\n"),
        format!("{M}  add sessions  {versions}/{M}_add_sessions.py  released\n"),
        "  released when the file exists on main (git)\n".to_owned(),
        format!("  next     db-migrate fix-heads --component manager   (your branch diverged from main: repoints the down_revision of your unreleased {F} from {B} onto {M}, no merge migration)\n"),
    ] {
        assert!(r.stdout.contains(&expected), "missing {expected:?}:\n{}", r.shown);
    }

    let doc = db_migrate(&ws, &["status", "--format", "json"]).json();
    let d = &component_json(&doc, Manager)["divergence"];
    assert_eq!(d["fork_point"], B, "{d:#}");
    assert_eq!(d["released_by"]["by"], "git", "{d:#}");
    assert_eq!(d["released_by"]["upstream"], "main", "{d:#}");
    assert_eq!(d["fix"]["action"], "repoint", "{d:#}");
    assert_eq!(d["fix"]["revision"], F, "{d:#}");
    assert_eq!(d["fix"]["onto"], M, "{d:#}");

    // `heads` shows the same explanation.
    let h = db_migrate(&ws, &["heads"]);
    assert!(
        h.stdout.contains(&format!("  fork     {B}  add email"))
            && h.stdout.contains("db-migrate fix-heads"),
        "{}",
        h.shown
    );
}

#[test]
fn fix_heads_walks_the_database_back_repoints_and_applies_both_branches() {
    let ws = diverged_repo(true);
    let before = f_file(&ws);
    assert_eq!(ws.db_revisions(Manager), vec![F.to_string()]);

    let r = db_migrate(&ws, &["fix-heads", "--yes"]);
    assert_eq!(r.code, Some(0), "{}", r.shown);
    assert!(
        r.stdout.contains(&format!(
            "-down_revision: Union[str, None] = \"{B}\"  # the previous head"
        )) && r.stdout.contains(&format!(
            "+down_revision: Union[str, None] = \"{M}\"  # the previous head"
        )),
        "the diff is shown: {}",
        r.shown
    );
    assert!(
        r.stdout.contains("manager (alembic.ini): up-to-date"),
        "{}",
        r.shown
    );
    assert!(
        r.stdout
            .contains("  proved   the new order upgrades a scratch copy of "),
        "proved before it was written: {}",
        r.shown
    );
    assert_eq!(scratch_left(&ws), "", "the scratch database is dropped");

    // Only the down_revision and Revises: lines of the feature file changed.
    assert_eq!(
        changed_lines(&before, &f_file(&ws)),
        vec![
            (format!("Revises: {B}"), format!("Revises: {M}")),
            (
                format!("down_revision: Union[str, None] = \"{B}\"  # the previous head"),
                format!("down_revision: Union[str, None] = \"{M}\"  # the previous head")
            ),
        ]
    );
    let changed = git(ws.root(), &["status", "--porcelain"]);
    assert_eq!(
        changed.trim_end(),
        format!(
            " M {}/alembic/versions/{F}_add_keypairs.py",
            Manager.package_dir()
        ),
        "no other file changed"
    );
    // One head, main's migration applied (its table exists), the database at the new head.
    assert_eq!(ws.db_revisions(Manager), vec![F.to_string()]);
    assert!(ws.has_table(Manager, &format!("t_{M}")));
    assert!(ws.has_table(Manager, &format!("t_{F}")));
    let heads = ws.alembic_ok(Manager, &["heads"]);
    assert_eq!(heads.trim(), format!("{F} (head)"));
}

#[test]
fn fix_heads_without_the_branch_applied_only_edits_and_json_says_what_changed() {
    let ws = diverged_repo(false);

    let dry = db_migrate(&ws, &["fix-heads", "--dry-run", "--format", "json"]);
    assert_eq!(dry.code, Some(0), "{}", dry.shown);
    let repoint = &dry.json()["components"][0]["repoint"];
    assert_eq!(repoint["written"], false, "{repoint:#}");
    assert_eq!(repoint["walk_back"], false, "{repoint:#}");
    assert!(repoint["diff"]
        .as_str()
        .unwrap()
        .contains(&format!("+Revises: {M}")));
    assert!(
        f_file(&ws).contains(&format!("Revises: {B}")),
        "dry run edits nothing"
    );

    // What status says fix-heads will do is what it does.
    let status = db_migrate(&ws, &["status", "--format", "json"]).json();
    let said = &component_json(&status, Manager)["divergence"]["fix"];
    let r = db_migrate(&ws, &["fix-heads", "--yes", "--format", "json"]);
    assert_eq!(r.code, Some(0), "{}", r.shown);
    let doc = r.json();
    let c = &doc["components"][0];
    for field in ["revision", "from", "onto"] {
        assert_eq!(
            said[field], c["repoint"][field],
            "{field}: {said:#} vs {doc:#}"
        );
    }
    assert_eq!(c["repoint"]["written"], true, "{doc:#}");
    assert_eq!(c["repoint"]["proved"], true, "{doc:#}");
    assert_eq!(c["state"], "behind", "{doc:#}");
    assert_eq!(strings(&c["heads"]), vec![F.to_string()]);
    assert_eq!(
        ws.db_revisions(Manager),
        vec![B.to_string()],
        "database untouched"
    );
    assert!(f_file(&ws).contains(&format!("Revises: {M}")));
}

#[test]
fn every_refusal_says_why_and_changes_nothing() {
    // Without a terminal the real run needs --yes.
    let ws = diverged_repo(true);
    let before = f_file(&ws);
    let r = db_migrate(&ws, &["fix-heads"]);
    assert_eq!(r.code, Some(2), "{}", r.shown);
    assert_eq!(f_file(&ws), before);

    // The file to edit has uncommitted changes.
    let path = format!(
        "{}/alembic/versions/{F}_add_keypairs.py",
        Manager.package_dir()
    );
    ws.write_file(&path, &format!("{before}# my local note\n"));
    let r = db_migrate(&ws, &["fix-heads", "--yes"]);
    assert_eq!(r.code, Some(1), "{}", r.shown);
    assert!(r.stderr.contains("has uncommitted changes"), "{}", r.shown);
    assert_eq!(ws.db_revisions(Manager), vec![F.to_string()]);
    git(ws.root(), &["checkout", "--", &path]);
    assert_eq!(f_file(&ws), before);
    assert_eq!(ws.db_revisions(Manager), vec![F.to_string()]);
}

/// The revision files of the manager, by name.
fn version_files(ws: &Workspace) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(ws.versions_dir(Manager))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".py"))
        .collect();
    names.sort();
    names
}

/// What `alembic heads` prints, one id per line, in its order.
fn alembic_heads(ws: &Workspace) -> Vec<String> {
    ws.alembic_ok(Manager, &["heads"])
        .lines()
        .map(|l| l.trim_end_matches(" (head)").to_owned())
        .collect()
}

/// The merge file written: its name and text, with the id and `Create Date:` checked for shape.
fn the_new_file(ws: &Workspace, before: &[String]) -> (String, String, String) {
    let new: Vec<String> = version_files(ws)
        .into_iter()
        .filter(|n| !before.contains(n))
        .collect();
    assert_eq!(new.len(), 1, "one file written: {new:?}");
    let name = new[0].clone();
    let id = name[..12].to_owned();
    assert!(
        id.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)),
        "an id like Alembic's (12 lowercase hex digits): {name}"
    );
    let text = ws.read_file(&format!(
        "{}/alembic/versions/{name}",
        Manager.package_dir()
    ));
    (name, id, text)
}

/// The team's merge file, for these heads, with `date` as its `Create Date:`.
fn teams_merge(id: &str, heads: &[&str], date: &str) -> String {
    let (last, rest) = heads.split_last().unwrap();
    let quoted: Vec<String> = heads.iter().map(|h| format!("\"{h}\"")).collect();
    format!(
        "\"\"\"merge heads {} and {last}\n\nRevision ID: {id}\nRevises: {}\nCreate Date: {date}\n\n\"\"\"\n\n# revision identifiers, used by Alembic.\nrevision = \"{id}\"\ndown_revision = ({})\n# Part of: NEXT_RELEASE_VERSION\nbranch_labels = None\ndepends_on = None\n\n\ndef upgrade() -> None:\n    pass\n\n\ndef downgrade() -> None:\n    pass\n",
        rest.join(", "),
        heads.join(", "),
        quoted.join(", ")
    )
}

/// The `Create Date:` line's value, checked to be in Alembic's format.
fn create_date(text: &str) -> String {
    let date = text
        .lines()
        .find_map(|l| l.strip_prefix("Create Date: "))
        .expect("a Create Date: line")
        .to_owned();
    let shape: String = date
        .chars()
        .map(|c| if c.is_ascii_digit() { '9' } else { c })
        .collect();
    assert_eq!(shape, "9999-99-99 99:99:99.999999", "{date}");
    date
}

#[test]
fn main_with_two_released_heads_gets_the_teams_empty_merge_written() {
    // The feature branch was merged into main as it was: main itself now has two released heads.
    let ws = diverged_repo(true);
    git(ws.root(), &["checkout", "-q", "main"]);
    git(ws.root(), &["merge", "-q", "--no-edit", "feature"]);
    let files_before = version_files(&ws);

    // `heads` lists them in Alembic's order (the order `merge heads` writes into down_revision).
    let order = alembic_heads(&ws);
    assert_eq!(order.len(), 2, "{order:?}");
    let h = db_migrate(&ws, &["heads"]);
    let listed: Vec<String> = h
        .stdout
        .lines()
        .filter(|l| l.contains("(head)"))
        .map(|l| l.trim_start()[..12].to_owned())
        .collect();
    assert_eq!(
        listed, order,
        "db-migrate heads in Alembic's order: {}",
        h.shown
    );
    let hj = db_migrate(&ws, &["heads", "--format", "json"]).json();
    assert_eq!(strings(&hj["components"][0]["heads"]), order);
    let sj = db_migrate(&ws, &["status", "--format", "json"]).json();
    assert_eq!(
        strings(&component_json(&sj, Manager)["heads"]),
        order,
        "status too"
    );
    let heads: Vec<&str> = order.iter().map(String::as_str).collect();

    // `next` names what fix-heads will do: the merge, not a repoint.
    let r = db_migrate(&ws, &["status"]);
    let next = format!(
        "  next     db-migrate fix-heads --component manager   (main itself has several heads, all released: writes the empty merge migration of {}, then chain new migrations on top of it)\n",
        heads.join(", ")
    );
    assert!(r.stdout.contains(&next), "missing {next:?}: {}", r.shown);
    assert!(!r.stdout.contains("no merge migration"), "{}", r.shown);
    let doc = db_migrate(&ws, &["status", "--format", "json"]).json();
    let fix = &component_json(&doc, Manager)["divergence"]["fix"];
    assert_eq!(fix["action"], "merge", "{fix:#}");
    assert_eq!(strings(&fix["heads"]), order, "{fix:#}");

    // --dry-run shows the new file and writes nothing.
    let dry = db_migrate(&ws, &["fix-heads", "--dry-run", "--format", "json"]);
    assert_eq!(dry.code, Some(0), "{}", dry.shown);
    let merge = &dry.json()["components"][0]["merge"];
    assert_eq!(merge["written"], false, "{merge:#}");
    let down = format!("+down_revision = (\"{}\", \"{}\")", heads[0], heads[1]);
    assert!(
        merge["diff"].as_str().unwrap().contains("--- /dev/null")
            && merge["diff"].as_str().unwrap().contains(&down),
        "{merge:#}"
    );
    assert_eq!(version_files(&ws), files_before, "dry run writes nothing");

    let r = db_migrate(&ws, &["fix-heads", "--yes", "--format", "json"]);
    assert_eq!(r.code, Some(0), "{}", r.shown);
    let (name, id, text) = the_new_file(&ws, &files_before);
    assert_eq!(
        name,
        format!("{id}_merge_heads_{}_and_.py", heads[0]),
        "named as Alembic names it (slug cut to 40 at the last _)"
    );
    assert!(!heads.contains(&id.as_str()));
    assert_eq!(text, teams_merge(&id, &heads, &create_date(&text)));
    let doc = r.json();
    let c = &doc["components"][0];
    assert_eq!(c["merge"]["written"], true, "{doc:#}");
    assert_eq!(
        c["merge"]["heads"], fix["heads"],
        "what status said: {doc:#}"
    );
    assert_eq!(c["merge"]["revision"], id.as_str(), "{doc:#}");
    assert!(
        c["merge"]["file"].as_str().unwrap().ends_with(&name),
        "{doc:#}"
    );

    // One head, by Alembic too; the database was at a head it joins, so it is upgraded to the
    // merge, with main's other migration applied.
    assert_eq!(alembic_heads(&ws), vec![id.clone()]);
    assert_eq!(c["state"], "up-to-date", "{doc:#}");
    assert_eq!(ws.db_revisions(Manager), vec![id.clone()]);
    assert!(ws.has_table(Manager, &format!("t_{M}")));
    // Nothing else changed: the one new file is all git sees.
    let changed = git(ws.root(), &["status", "--porcelain"]);
    assert_eq!(
        changed.trim_end(),
        format!("?? {}/alembic/versions/{name}", Manager.package_dir())
    );
}

/// A merge revision file carrying `# Part of:`.
fn merge_file(id: &str, parents: &[&str], message: &str, part_of: &str) -> Rev {
    let tuple: Vec<String> = parents.iter().map(|p| format!("'{p}'")).collect();
    merge(id, parents, message).raw(&format!(
        "\"\"\"{message}\n\nRevision ID: {id}\nRevises: {}\nCreate Date: 2026-11-30 10:00:00.000000\n\n\"\"\"\nrevision = '{id}'\ndown_revision = ({})\n# Part of: {part_of}\nbranch_labels = None\ndepends_on = None\n\n\ndef upgrade():\n    pass\n\n\ndef downgrade():\n    pass\n",
        parents.join(", "),
        tuple.join(", ")
    ))
}

#[test]
fn three_released_heads_one_holding_a_merge_get_one_merge_of_all() {
    // Outside git: `# Part of:` says every head is released. One head is an old merge.
    let ws = Workspace::new().component(
        Manager,
        &[
            rev_file(A, "", "create users", Some("26.8.0"), false),
            rev_file("b1b1b1b1b1b1", A, "left", Some("26.8.0"), false),
            rev_file("b0b0b0b0b0b0", A, "right", Some("26.8.0"), false),
            merge_file(
                "e0e0e0e0e0e0",
                &["b1b1b1b1b1b1", "b0b0b0b0b0b0"],
                "merge left and right",
                "26.8.0",
            ),
            rev_file(M, A, "add sessions", Some("26.9.0"), false),
            rev_file(F, A, "add keypairs", Some("26.9.1"), true),
        ],
    );
    ws.db_at(Manager, A);
    let files_before = version_files(&ws);
    let order = alembic_heads(&ws);
    assert_eq!(order.len(), 3, "{order:?}");

    let r = db_migrate(&ws, &["fix-heads", "--yes"]);
    assert_eq!(r.code, Some(0), "{}", r.shown);
    assert!(
        r.stdout.contains("database at ")
            && r.stdout.contains(
                "only the file is written (db-migrate upgrade --component manager applies it)"
            ),
        "{}",
        r.shown
    );
    let (name, id, text) = the_new_file(&ws, &files_before);
    let heads: Vec<&str> = order.iter().map(String::as_str).collect();
    assert_eq!(text, teams_merge(&id, &heads, &create_date(&text)));
    assert!(
        name.starts_with(&format!("{id}_merge_heads_")) && name.ends_with("_.py"),
        "{name}"
    );
    assert_eq!(alembic_heads(&ws), vec![id.clone()]);
    // The database was not at a head: left where it was, `behind`.
    assert_eq!(ws.db_revisions(Manager), vec![A.to_string()]);
    assert!(
        r.stdout.contains("manager (alembic.ini): behind"),
        "{}",
        r.shown
    );
}

#[test]
fn several_unreleased_branches_or_three_heads_are_left_to_people() {
    let ws = diverged_repo(false);
    // A second unreleased branch on the feature side: now two branches hold unreleased work.
    ws.add_revisions(
        Manager,
        &[rev_file(
            "e5e5e5e5e5e5",
            M,
            "add quotas",
            Some("NEXT_RELEASE_VERSION"),
            false,
        )],
    );
    commit_all(ws.root(), "another unreleased migration on main's side");
    let r = db_migrate(&ws, &["fix-heads", "--yes"]);
    assert_eq!(r.code, Some(1), "{}", r.shown);
    assert!(
        r.stderr.contains("all hold unreleased migrations"),
        "{}",
        r.shown
    );
    // What status says to do is what fix-heads says instead, and neither is a merge.
    let status = db_migrate(&ws, &["status"]);
    let next = status
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("  next     "))
        .expect("a next line");
    assert!(
        r.stderr.contains(&format!("fix: {next}")),
        "status says {next:?}; fix-heads: {}",
        r.shown
    );
    assert!(next.contains("no merge migration"), "{next}");

    ws.add_revisions(
        Manager,
        &[rev_file(
            "d6d6d6d6d6d6",
            B,
            "third head",
            Some("NEXT_RELEASE_VERSION"),
            false,
        )],
    );
    commit_all(ws.root(), "a third head");
    let r = db_migrate(&ws, &["fix-heads", "--yes"]);
    assert_eq!(r.code, Some(1), "{}", r.shown);
    assert!(r.stderr.contains("3 heads"), "{}", r.shown);
    assert!(f_file(&ws).contains(&format!("Revises: {B}")));
}

#[test]
fn outside_git_part_of_comments_decide_and_say_so() {
    let ws = Workspace::new().component(
        Manager,
        &[
            rev_file(A, "", "create users", Some("26.8.0"), false),
            rev_file(B, A, "add email", Some("26.8.0"), true),
            rev_file(F, B, "add keypairs", Some("NEXT_RELEASE_VERSION"), true),
            rev_file(M, B, "add sessions", Some("26.9.0"), false),
        ],
    );
    ws.db_at(Manager, B);
    let r = db_migrate(&ws, &["status"]);
    assert!(
        r.stdout.contains(
            "released when its `# Part of:` comment names a version (not a git work tree"
        ),
        "{}",
        r.shown
    );
    let r = db_migrate(&ws, &["fix-heads", "--yes"]);
    assert_eq!(r.code, Some(0), "{}", r.shown);
    assert!(f_file(&ws).contains(&format!("Revises: {M}")));
}

#[test]
fn an_upstream_ref_that_does_not_exist_is_refused_and_nothing_changes() {
    let ws = diverged_repo(true);
    let before = f_file(&ws);
    for command in ["fix-heads", "status", "heads"] {
        let args: &[&str] = if command == "fix-heads" {
            &[command, "--upstream", "origin/nope", "--yes"]
        } else {
            &[command, "--upstream", "origin/nope"]
        };
        let r = db_migrate(&ws, args);
        assert_eq!(r.code, Some(2), "{command}: {}", r.shown);
        assert!(
            r.stderr.contains("--upstream origin/nope: no such ref in")
                && r.stderr.contains("branch --all")
                && r.stderr.contains(&format!(
                    "db-migrate {command} --component manager --upstream REF"
                )),
            "{command} names the ref and how to list refs: {}",
            r.shown
        );
        assert!(
            r.stdout.is_empty(),
            "{command} reports nothing else: {}",
            r.shown
        );
    }
    let r = db_migrate(
        &ws,
        &[
            "fix-heads",
            "--upstream",
            "origin/nope",
            "--yes",
            "--format",
            "json",
        ],
    );
    assert_eq!(r.code, Some(2), "{}", r.shown);
    assert_eq!(r.json()["error"]["kind"], "upstream-missing", "{}", r.shown);
    assert_eq!(f_file(&ws), before, "the file is untouched");
    assert_eq!(git(ws.root(), &["status", "--porcelain"]).trim(), "");
    assert_eq!(
        ws.db_revisions(Manager),
        vec![F.to_string()],
        "the database is untouched"
    );

    // A ref that exists decides.
    git(ws.root(), &["branch", "release", "main"]);
    let r = db_migrate(&ws, &["status", "--upstream", "release"]);
    assert_eq!(r.code, Some(0), "{}", r.shown);
    assert!(
        r.stdout
            .contains("released when the file exists on release (git)"),
        "{}",
        r.shown
    );
}

#[test]
fn outside_git_an_explicit_upstream_is_refused_and_unknown_release_refuses() {
    let ws = Workspace::new().component(
        Manager,
        &[
            rev_file(A, "", "create users", None, false),
            rev_file(F, A, "add keypairs", None, true),
            rev_file(M, A, "add sessions", None, false),
        ],
    );
    let r = db_migrate(&ws, &["fix-heads", "--upstream", "main", "--yes"]);
    assert_eq!(r.code, Some(2), "{}", r.shown);
    assert!(
        r.stderr.contains("is not in a git work tree"),
        "{}",
        r.shown
    );
    assert!(f_file(&ws).contains(&format!("Revises: {A}")));

    // Without git evidence, a file without `# Part of:` leaves released-ness unknown.
    let r = db_migrate(&ws, &["fix-heads", "--yes"]);
    assert_eq!(r.code, Some(1), "{}", r.shown);
    assert!(r.stderr.contains("cannot tell whether"), "{}", r.shown);
    assert!(r.stderr.contains("--upstream"), "{}", r.shown);
}

/// main: A → (B1 | B2) → merge MG → base for both sides; pushed to a bare "origin" whose HEAD is
/// main. feature: F (plain style) on MG; main: M on MG; merged into feature.
fn diverged_repo_with_origin_and_a_merge_below() -> Workspace {
    let mg = "e0e0e0e0e0e0";
    let ws = Workspace::new().component(
        Manager,
        &[
            rev_file(A, "", "create users", Some("26.8.0"), false),
            rev_file("b1b1b1b1b1b1", A, "left", Some("26.8.0"), false),
            rev_file("b0b0b0b0b0b0", A, "right", Some("26.8.0"), false),
            merge(
                mg,
                &["b1b1b1b1b1b1", "b0b0b0b0b0b0"],
                "merge left and right",
            ),
        ],
    );
    let root = ws.root().to_path_buf();
    ws.write_file(".gitignore", "__pycache__/\n");
    git(&root, &["init", "-q", "-b", "main"]);
    commit_all(&root, "base");
    let origin = root.join("origin.git");
    git(
        &root,
        &["clone", "-q", "--bare", ".", origin.to_str().unwrap()],
    );
    ws.write_file(".gitignore", "__pycache__/\norigin.git/\n");
    commit_all(&root, "ignore the remote");
    git(
        &root,
        &["remote", "add", "origin", origin.to_str().unwrap()],
    );
    git(&root, &["push", "-q", "origin", "main"]);
    git(&root, &["fetch", "-q", "origin"]);
    git(&root, &["remote", "set-head", "origin", "main"]);
    git(&root, &["checkout", "-q", "-b", "feature"]);
    ws.add_revisions(Manager, &[rev_file(F, mg, "add keypairs", None, false)]);
    commit_all(&root, "my migration");
    ws.db_at(Manager, F);
    git(&root, &["checkout", "-q", "main"]);
    ws.add_revisions(Manager, &[rev_file(M, mg, "add sessions", None, true)]);
    commit_all(&root, "main's migration");
    git(&root, &["push", "-q", "origin", "main"]);
    git(&root, &["checkout", "-q", "feature"]);
    git(&root, &["merge", "-q", "--no-edit", "main"]);
    ws
}

#[test]
fn the_remote_default_branch_decides_and_a_merge_below_the_fork_stays_untouched() {
    let ws = diverged_repo_with_origin_and_a_merge_below();
    let merge_file = format!(
        "{}/alembic/versions/e0e0e0e0e0e0_merge_left_and_right.py",
        Manager.package_dir()
    );
    let merge_before = ws.read_file(&merge_file);
    let before = f_file(&ws);

    let r = db_migrate(&ws, &["fix-heads", "--yes"]);
    assert_eq!(r.code, Some(0), "{}", r.shown);
    assert!(
        r.stdout
            .contains("  released when the file exists on origin/main (git)"),
        "{}",
        r.shown
    );
    assert_eq!(
        changed_lines(&before, &f_file(&ws)),
        vec![
            ("Revises: e0e0e0e0e0e0".to_owned(), format!("Revises: {M}")),
            (
                "down_revision = 'e0e0e0e0e0e0'".to_owned(),
                format!("down_revision = '{M}'")
            ),
        ],
        "plain style: quotes kept"
    );
    assert_eq!(
        ws.read_file(&merge_file),
        merge_before,
        "the merge's tuple is untouched"
    );
    assert!(ws.has_table(Manager, &format!("t_{M}")));
    assert_eq!(ws.db_revisions(Manager), vec![F.to_string()]);
}

#[test]
fn a_merge_inside_a_branch_or_a_computed_down_revision_is_refused() {
    // The feature side holds a merge of its own: "the other head" is ambiguous.
    let ws = Workspace::new().component(
        Manager,
        &[
            rev_file(A, "", "create users", Some("26.8.0"), false),
            rev_file(M, A, "add sessions", Some("26.9.0"), false),
            rev_file(
                "f1f1f1f1f1f1",
                A,
                "mine 1",
                Some("NEXT_RELEASE_VERSION"),
                false,
            ),
            rev_file(
                "f2f2f2f2f2f2",
                A,
                "mine 2",
                Some("NEXT_RELEASE_VERSION"),
                false,
            ),
            merge(
                "f9f9f9f9f9f9",
                &["f1f1f1f1f1f1", "f2f2f2f2f2f2"],
                "merge mine",
            ),
        ],
    );
    let r = db_migrate(&ws, &["fix-heads", "--yes"]);
    assert_eq!(r.code, Some(1), "{}", r.shown);
    assert!(
        r.stderr.contains("holds a merge or a depends_on")
            && r.stderr.contains("nothing was changed"),
        "{}",
        r.shown
    );

    // down_revision computed: Alembic knows the graph, the file cannot be rewritten safely.
    let computed = format!(
        "\"\"\"add keypairs\"\"\"\nrevision = '{F}'\nPREVIOUS = '{A}'\ndown_revision = PREVIOUS\n# Part of: NEXT_RELEASE_VERSION\nbranch_labels = None\ndepends_on = None\n\n\ndef upgrade():\n    pass\n\n\ndef downgrade():\n    pass\n"
    );
    let ws = Workspace::new().component(
        Manager,
        &[
            rev_file(A, "", "create users", Some("26.8.0"), false),
            rev_file(M, A, "add sessions", Some("26.9.0"), false),
            rev(F, Some(A), "add keypairs").raw(&computed),
        ],
    );
    let r = db_migrate(&ws, &["fix-heads", "--yes"]);
    assert_eq!(r.code, Some(1), "{}", r.shown);
    assert!(
        r.stderr.contains("not a single string literal"),
        "{}",
        r.shown
    );
    assert!(f_file_named(&ws, &format!("{F}_add_keypairs.py")).contains("down_revision = PREVIOUS"));
}

fn f_file_named(ws: &Workspace, name: &str) -> String {
    ws.read_file(&format!(
        "{}/alembic/versions/{name}",
        Manager.package_dir()
    ))
}

/// A revision with its own upgrade and downgrade bodies (indented Python), in the plain style.
fn body_rev(id: &str, down: &str, message: &str, part_of: &str, up: &str, down_body: &str) -> Rev {
    rev(id, Some(down), message).raw(&format!(
        "\"\"\"{message}\n\nRevision ID: {id}\nRevises: {down}\nCreate Date: 2026-11-30 10:00:00.000000\n\n\"\"\"\nimport sqlalchemy as sa\nfrom alembic import op\n\n# revision identifiers, used by Alembic.\nrevision = '{id}'\ndown_revision = '{down}'\n# Part of: {part_of}\nbranch_labels = None\ndepends_on = None\n\n\ndef upgrade() -> None:\n{up}\n\n\ndef downgrade() -> None:\n{down_body}\n"
    ))
}

/// The real case: main's new migration M drops `legacy`, the developer's F backfills from it.
/// main: A → M (on main, not yet in a release); feature: A → F, applied; main merged in.
fn backfill_repo() -> Workspace {
    backfill_repo_with("    op.execute(\"CREATE TABLE keypairs AS SELECT id FROM legacy\")")
}

/// [`backfill_repo`] with `f_up` as the body of F's upgrade.
fn backfill_repo_with(f_up: &str) -> Workspace {
    let ws = Workspace::new().component(
        Manager,
        &[rev(A, None, "create legacy").raw(&format!(
            "\"\"\"create legacy\n\nRevision ID: {A}\nRevises: \nCreate Date: 2026-11-30 10:00:00.000000\n\n\"\"\"\nfrom alembic import op\n\nrevision = '{A}'\ndown_revision = None\n# Part of: 26.8.0\nbranch_labels = None\ndepends_on = None\n\n\ndef upgrade() -> None:\n    op.execute(\"CREATE TABLE legacy (id integer)\")\n    op.execute(\"INSERT INTO legacy VALUES (7)\")\n\n\ndef downgrade() -> None:\n    op.execute(\"DROP TABLE legacy\")\n"
        ))],
    );
    let root = ws.root().to_path_buf();
    ws.write_file(".gitignore", "__pycache__/\n");
    git(&root, &["init", "-q", "-b", "main"]);
    commit_all(&root, "base");
    git(&root, &["checkout", "-q", "-b", "feature"]);
    ws.add_revisions(
        Manager,
        &[body_rev(
            F,
            A,
            "backfill keypairs",
            "NEXT_RELEASE_VERSION",
            f_up,
            "    op.execute(\"DROP TABLE keypairs\")",
        )],
    );
    commit_all(&root, "my migration");
    ws.db_at(Manager, F);
    git(&root, &["checkout", "-q", "main"]);
    ws.add_revisions(
        Manager,
        &[body_rev(
            M,
            A,
            "drop legacy",
            "NEXT_RELEASE_VERSION",
            "    op.execute(\"DROP TABLE legacy\")",
            "    op.execute(\"CREATE TABLE legacy (id integer)\")",
        )],
    );
    commit_all(&root, "main's migration");
    git(&root, &["checkout", "-q", "feature"]);
    git(&root, &["merge", "-q", "--no-edit", "main"]);
    ws
}

fn manager_file(ws: &Workspace, name: &str) -> String {
    ws.read_file(&format!(
        "{}/alembic/versions/{name}",
        Manager.package_dir()
    ))
}

/// Scratch databases made from this workspace's database that are still there.
fn scratch_left(ws: &Workspace) -> String {
    ws.sql(
        Manager,
        &format!(
            "SELECT string_agg(datname, ',') FROM pg_database WHERE datname LIKE '{}\\_verify\\_%'",
            ws.db_name(Manager)
        ),
    )
}

#[test]
fn an_order_that_fails_on_a_scratch_copy_is_refused_and_mine_first_applies_the_other() {
    let ws = backfill_repo();
    let f_name = format!("{F}_backfill_keypairs.py");
    let m_name = format!("{M}_drop_legacy.py");
    let (f_before, m_before) = (manager_file(&ws, &f_name), manager_file(&ws, &m_name));

    // The usual repoint (F after M) is proved first, on a scratch copy: F then reads a table M
    // dropped. Nothing is written, the database is not walked back.
    let r = db_migrate(&ws, &["fix-heads", "--yes"]);
    assert_eq!(r.code, Some(1), "{}", r.shown);
    assert!(
        r.stderr.contains("fix-heads-order-fails") || r.stderr.contains("fails on a scratch copy"),
        "{}",
        r.shown
    );
    assert!(
        r.stderr.contains(&format!("with {F} repointed onto {M}"))
            && r.stderr.contains("nothing was written")
            && r.stderr.contains("legacy"),
        "names the failing revision and why: {}",
        r.shown
    );
    assert!(
        r.stderr
            .contains("db-migrate fix-heads --component manager --mine-first")
            && r.stderr.contains(&format!(
                "repoints the down_revision of {M} from {A} onto {F}"
            )),
        "names the way out: {}",
        r.shown
    );
    assert_eq!(manager_file(&ws, &f_name), f_before, "byte-identical");
    assert_eq!(manager_file(&ws, &m_name), m_before, "byte-identical");
    assert_eq!(git(ws.root(), &["status", "--porcelain"]).trim(), "");
    assert_eq!(
        ws.db_revisions(Manager),
        vec![F.to_string()],
        "not walked back"
    );
    assert!(ws.has_table(Manager, "keypairs") && ws.has_table(Manager, "legacy"));
    assert_eq!(scratch_left(&ws), "", "the scratch database is dropped");
    let j = db_migrate(&ws, &["fix-heads", "--yes", "--format", "json"]);
    assert_eq!(j.code, Some(1), "{}", j.shown);
    assert_eq!(
        j.json()["components"][0]["error"]["kind"],
        "fix-heads-order-fails",
        "{}",
        j.shown
    );
    assert_eq!(manager_file(&ws, &f_name), f_before, "byte-identical");

    // The other order, asked for: M goes onto F (M is not in a release yet), proved first.
    let r = db_migrate(
        &ws,
        &["fix-heads", "--yes", "--mine-first", "--format", "json"],
    );
    assert_eq!(r.code, Some(0), "{}", r.shown);
    let doc = r.json();
    let repoint = &doc["components"][0]["repoint"];
    assert_eq!(repoint["revision"], M, "{doc:#}");
    assert_eq!(repoint["onto"], F, "{doc:#}");
    assert_eq!(repoint["proved"], true, "{doc:#}");
    assert_eq!(manager_file(&ws, &f_name), f_before, "mine stays as it is");
    assert_eq!(
        changed_lines(&m_before, &manager_file(&ws, &m_name)),
        vec![
            (format!("Revises: {A}"), format!("Revises: {F}")),
            (
                format!("down_revision = '{A}'"),
                format!("down_revision = '{F}'")
            ),
        ]
    );
    assert_eq!(scratch_left(&ws), "", "the scratch database is dropped");
    assert_eq!(
        ws.alembic_ok(Manager, &["heads"]).trim(),
        format!("{M} (head)")
    );
    let up = db_migrate(&ws, &["upgrade"]);
    assert_eq!(up.code, Some(0), "{}", up.shown);
    assert_eq!(ws.db_revisions(Manager), vec![M.to_string()]);
    assert!(!ws.has_table(Manager, "legacy"));
    assert_eq!(ws.sql(Manager, "SELECT id FROM keypairs"), "7");
}

#[test]
fn mine_first_never_moves_a_migration_in_a_release() {
    let ws = backfill_repo();
    // main's migration is in a release: it keeps its place.
    let m_path = format!(
        "{}/alembic/versions/{M}_drop_legacy.py",
        Manager.package_dir()
    );
    let m_text = ws
        .read_file(&m_path)
        .replace("# Part of: NEXT_RELEASE_VERSION", "# Part of: 26.9.0");
    ws.write_file(&m_path, &m_text);
    commit_all(ws.root(), "released");
    let r = db_migrate(&ws, &["fix-heads", "--yes", "--mine-first"]);
    assert_eq!(r.code, Some(1), "{}", r.shown);
    assert!(
        r.stderr.contains(&format!(
            "--mine-first would edit the down_revision of {M}, which is in a release"
        )),
        "{}",
        r.shown
    );
    assert_eq!(ws.read_file(&m_path), m_text);
    // And the usual order, failing on the scratch copy, does not offer it either.
    let r = db_migrate(&ws, &["fix-heads", "--yes"]);
    assert_eq!(r.code, Some(1), "{}", r.shown);
    assert!(
        r.stderr.contains("keep their place")
            && !r
                .stderr
                .contains("fix: db-migrate fix-heads --component manager --mine-first"),
        "{}",
        r.shown
    );
    assert_eq!(git(ws.root(), &["status", "--porcelain"]).trim(), "");
}

#[test]
fn without_a_postgresql_server_the_repoint_says_it_was_not_proved() {
    // A component on SQLite, outside git: `# Part of:` decides; there is no server to copy.
    let ws = Workspace::new().component(
        Manager,
        &[
            rev_file(A, "", "create users", Some("26.8.0"), false),
            rev_file(F, A, "add keypairs", Some("NEXT_RELEASE_VERSION"), true),
            rev_file(M, A, "add sessions", Some("26.9.0"), false),
        ],
    );
    ws.write_file("var/.keep", "");
    ws.set_db_url(Manager, "sqlite:///var/manager.db");
    ws.write_file(
        &format!("{}/alembic/env.py", Manager.package_dir()),
        "from sqlalchemy import engine_from_config, pool\n\nfrom alembic import context\n\nconfig = context.config\n\nif context.is_offline_mode():\n    context.configure(url=config.get_main_option(\"sqlalchemy.url\"), literal_binds=True)\n    with context.begin_transaction():\n        context.run_migrations()\nelse:\n    engine = engine_from_config(\n        config.get_section(config.config_ini_section, {}),\n        prefix=\"sqlalchemy.\",\n        poolclass=pool.NullPool,\n    )\n    with engine.connect() as connection:\n        context.configure(connection=connection, target_metadata=None)\n        with context.begin_transaction():\n            context.run_migrations()\n",
    );
    let r = db_migrate(&ws, &["fix-heads", "--yes"]);
    assert_eq!(r.code, Some(0), "{}", r.shown);
    assert!(
        r.stdout.contains(
            "  unproved  the new order was not proved on a scratch copy: the database is not PostgreSQL"
        ),
        "{}",
        r.shown
    );
    assert!(f_file(&ws).contains(&format!("Revises: {M}")));
}

#[test]
fn ctrl_c_during_the_proof_restores_the_file_and_drops_the_scratch_copy() {
    // F's upgrade is slow when it runs again on the scratch copy (after M, in the new order).
    let ws = backfill_repo_with(
        "    op.execute(\"CREATE TABLE keypairs (id integer)\")\n    if op.get_bind().execute(sa.text(\"SELECT to_regclass('legacy') IS NULL\")).scalar():\n        op.execute(\"SELECT pg_sleep(29.5)\")",
    );
    let f_name = format!("{F}_backfill_keypairs.py");
    let before = manager_file(&ws, &f_name);
    let child = ws
        .std_cmd()
        .args(["fix-heads", "--yes"])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("db-migrate runs");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(90);
    loop {
        let busy = ws.sql(
            Manager,
            "SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(29.5)%' AND pid <> pg_backend_pid()",
        );
        if busy != "0" {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the proof never reached F"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_ne!(
        manager_file(&ws, &f_name),
        before,
        "the repointed file is in place while the proof runs"
    );
    assert_ne!(scratch_left(&ws), "");
    // SAFETY: signalling our own child.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGINT);
    }
    let out = child.wait_with_output().expect("db-migrate exits");
    let shown = output_text(&out);
    assert_eq!(out.status.code(), Some(130), "{shown}");
    assert_eq!(
        manager_file(&ws, &f_name),
        before,
        "restored byte for byte: {shown}"
    );
    assert_eq!(git(ws.root(), &["status", "--porcelain"]).trim(), "");
    assert_eq!(scratch_left(&ws), "", "{shown}");
    assert_eq!(ws.db_revisions(Manager), vec![F.to_string()], "{shown}");
    assert!(ws.has_table(Manager, "legacy"));
}
