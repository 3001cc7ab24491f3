//! Proof of equality: the native engine (revision files read statically, alembic_version over
//! tokio-postgres) and the Alembic engine (`alembic current` + `history --verbose`) must report the
//! same status, heads, history and current for random revision graphs at random database
//! positions.
//!
//! Each case is generated from a seed. The seeds below run in CI; `PARITY_SEED=N` runs one seed
//! and `PARITY_CASES=K` runs K more random seeds. A seed that ever failed is kept in REGRESSIONS.

mod harness;

use harness::*;
use serde_json::Value;

/// Seeds that once exposed a difference between the engines.
const REGRESSIONS: &[u64] = &[];

/// A small deterministic PRNG (xorshift64*), so a seed reproduces a case exactly.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

/// One generated history: revisions in creation order (parents before children).
struct Case {
    component: Component,
    revs: Vec<Rev>,
    parents: Vec<Vec<usize>>,
    deps: Vec<Vec<usize>>,
    ids: Vec<String>,
}

fn id_for(rng: &mut Rng, n: usize) -> String {
    // Mostly hex like `alembic revision`, sometimes Backend.AI's non-hex ids, sometimes sharing a
    // prefix with the previous revision (prefix lookups must not confuse the engines).
    const HEX: &[u8] = b"0123456789abcdef";
    const B36: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let alphabet = if rng.chance(20) { B36 } else { HEX };
    let mut id: String = (0..12)
        .map(|_| alphabet[rng.below(alphabet.len())] as char)
        .collect();
    id.replace_range(0..3, &format!("{:03x}", n % 4096));
    id
}

fn generate(seed: u64, size: usize) -> Case {
    let mut rng = Rng::new(seed);
    let component = [
        Component::Manager,
        Component::Accountmgr,
        Component::Appproxy,
    ][rng.below(3)];
    let mut ids: Vec<String> = Vec::new();
    let mut parents: Vec<Vec<usize>> = Vec::new();
    let mut deps: Vec<Vec<usize>> = Vec::new();
    let mut labels: Vec<Vec<String>> = Vec::new();
    let mut children = vec![0usize; size];
    for i in 0..size {
        let heads: Vec<usize> = (0..i).filter(|&j| children[j] == 0).collect();
        let p: Vec<usize> = if i == 0 || rng.chance(3) {
            Vec::new() // a new base
        } else if heads.len() >= 2 && rng.chance(25) {
            let a = heads[rng.below(heads.len())];
            let mut b = heads[rng.below(heads.len())];
            if a == b {
                b = *heads.iter().find(|&&h| h != a).unwrap();
            }
            vec![a, b] // merge two heads
        } else if rng.chance(12) {
            vec![rng.below(i)] // branch off anything
        } else {
            vec![*heads.last().unwrap_or(&(i - 1))]
        };
        for &q in &p {
            children[q] += 1;
        }
        // depends_on an older revision that is not already a parent.
        let d: Vec<usize> = if i > 2 && rng.chance(6) {
            let t = rng.below(i);
            if p.contains(&t) {
                Vec::new()
            } else {
                vec![t]
            }
        } else {
            Vec::new()
        };
        let l = if rng.chance(4) {
            vec![format!("lbl{i}")]
        } else {
            Vec::new()
        };
        ids.push(id_for(&mut rng, i));
        parents.push(p);
        deps.push(d);
        labels.push(l);
    }
    let revs = (0..size)
        .map(|i| {
            let ps: Vec<&str> = parents[i].iter().map(|&p| ids[p].as_str()).collect();
            let ds: Vec<&str> = deps[i].iter().map(|&d| ids[d].as_str()).collect();
            let ls: Vec<&str> = labels[i].iter().map(String::as_str).collect();
            let message = format!("step {i}, seed {seed}");
            let mut r = merge(&ids[i], &ps, &message)
                .depends_on(&ds)
                .branch_labels(&ls);
            if rng.chance(30) {
                r = r.raw(&exotic_file(&ids[i], &ps, &ds, &ls, &message));
            }
            r
        })
        .collect();
    Case {
        component,
        revs,
        parents,
        deps,
        ids,
    }
}

/// A third file style: multi-line lists with comments and trailing commas, a docstring that
/// mentions other ids, `match`, and a local `revision` inside a function. (Python 3.12's `type X =`
/// is covered by the reader's unit tests: the harness's Python 3.11 cannot import it.)
fn exotic_file(
    id: &str,
    parents: &[&str],
    deps: &[&str],
    labels: &[&str],
    message: &str,
) -> String {
    let list = |items: &[&str]| -> String {
        match items {
            [] => "None".into(),
            [one] => format!("'{one}'  # Part of: 25.2.0"),
            many => format!(
                "[\n{}\n]",
                many.iter()
                    .map(|s| format!("    \"{s}\",  # merged"))
                    .collect::<Vec<_>>()
                    .join("\n")
            ),
        }
    };
    format!(
        "# -*- coding: utf-8 -*-\n\"\"\"{message}\n\nRevision ID: 000000000000\nRevises: ffffffffffff\n\"\"\"\n\
         from __future__ import annotations\n\nfrom alembic import op\n\n\
         revision = (\n    \"{id}\"\n)\n\
         down_revision: str | list[str] | None = {down}\n\
         branch_labels = {labels}\n\
         depends_on = {deps}\n\n\
         Rows = list[dict[str, str]]\n\n\n\
         def upgrade() -> None:\n    revision = f\"{{id!r}} {{'x'}}\"\n    match revision:\n        case _:\n            pass\n\n\n\
         def downgrade() -> None:\n    pass\n",
        down = list(parents),
        labels = if labels.is_empty() { "None".to_string() } else { format!("{labels:?}") },
        deps = list(deps),
    )
}

impl Case {
    /// A random position: an ancestor-closed applied set, stored as Alembic stores it (the
    /// revisions of the set that no other revision of the set names as down_revision).
    fn random_position(&self, rng: &mut Rng) -> Vec<String> {
        let n = self.ids.len();
        let mut applied = vec![false; n];
        for _ in 0..rng.below(3) {
            let mut stack = vec![rng.below(n)];
            while let Some(i) = stack.pop() {
                if !applied[i] {
                    applied[i] = true;
                    stack.extend(self.parents[i].iter().chain(&self.deps[i]).copied());
                }
            }
        }
        let covered: Vec<bool> = (0..n)
            .map(|i| (0..n).any(|j| applied[j] && self.parents[j].contains(&i)))
            .collect();
        (0..n)
            .filter(|&i| applied[i] && !covered[i])
            .map(|i| self.ids[i].clone())
            .collect()
    }
}

fn json_of(ws: &Workspace, args: &[&str]) -> (Value, i32) {
    let out = ws.cmd().args(args).output().unwrap();
    let code = out.status.code().unwrap_or(-1);
    let mut v: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{args:?}: not JSON ({e}):\n{}", output_text(&out)));
    strip_engine(&mut v);
    (v, code)
}

/// The first place two JSON values differ, as `path: native … vs alembic …` (short).
fn first_difference(a: &Value, b: &Value, path: &str) -> Option<String> {
    let short = |v: &Value| {
        let s = v.to_string();
        if s.len() > 300 {
            format!("{}…", &s[..300])
        } else {
            s
        }
    };
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let mut keys: Vec<&String> = x.keys().chain(y.keys()).collect();
            keys.sort();
            keys.dedup();
            keys.into_iter().find_map(|k| match (x.get(k), y.get(k)) {
                (Some(p), Some(q)) => first_difference(p, q, &format!("{path}.{k}")),
                (p, q) => Some(format!("{path}.{k}: native {p:?} vs alembic {q:?}")),
            })
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => x
            .iter()
            .zip(y)
            .enumerate()
            .find_map(|(i, (p, q))| first_difference(p, q, &format!("{path}[{i}]"))),
        _ if a == b => None,
        _ => Some(format!(
            "{path}: native {} vs alembic {}",
            short(a),
            short(b)
        )),
    }
}

fn strip_engine(v: &mut Value) {
    if let Some(components) = v.get_mut("components").and_then(Value::as_array_mut) {
        for c in components {
            if let Some(obj) = c.as_object_mut() {
                obj.remove("engine");
            }
        }
    }
}

fn check_seed(seed: u64, size: usize) {
    let case = generate(seed, size);
    let ws = Workspace::new().component(case.component, &case.revs);
    let mut rng = Rng::new(seed ^ 0xDB);
    let position = match rng.below(10) {
        0 => None,                                   // no alembic_version table at all
        1 => Some(vec!["feedfacecafe".to_string()]), // a revision the scripts don't have
        _ => Some(case.random_position(&mut rng)),
    };
    if let Some(rows) = &position {
        ws.sql(
            case.component,
            "CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL PRIMARY KEY)",
        );
        ws.sql(
            case.component,
            &format!(
                "ALTER TABLE alembic_version OWNER TO {}",
                case.component.db_user()
            ),
        );
        for r in rows {
            ws.sql(
                case.component,
                &format!("INSERT INTO alembic_version VALUES ('{r}')"),
            );
        }
    }
    let c = case.component.name();
    for cmd in ["status", "current", "heads", "history"] {
        let (native, native_code) = json_of(
            &ws,
            &[
                cmd,
                "--component",
                c,
                "--format",
                "json",
                "--engine",
                "native",
            ],
        );
        let (alembic, alembic_code) = json_of(
            &ws,
            &[
                cmd,
                "--component",
                c,
                "--format",
                "json",
                "--engine",
                "alembic",
            ],
        );
        if let Some(diff) = first_difference(&native, &alembic, "") {
            panic!("seed {seed} (size {size}, {c}, db at {position:?}): `{cmd}` differs between engines: {diff}");
        }
        assert_eq!(
            native_code, alembic_code,
            "seed {seed}: `{cmd}` exit codes differ"
        );
        assert_eq!(native_code, 0, "seed {seed}: `{cmd}` failed: {native}");
        if cmd == "history" {
            // Both engines list in Alembic's own order, not only the same set.
            let listed: Vec<String> = native["components"][0]["revisions"]
                .as_array()
                .expect("revisions")
                .iter()
                .map(|r| r["id"].as_str().expect("id").to_owned())
                .collect();
            assert_eq!(
                listed,
                alembic_history_order(&ws, case.component),
                "seed {seed} (size {size}, {c}): history order differs from `alembic history`"
            );
        }
    }
}

/// The revision ids of `alembic history` (`PARENTS -> ID (marks), message`), in its order.
fn alembic_history_order(ws: &Workspace, c: Component) -> Vec<String> {
    ws.alembic_ok(c, &["history"])
        .lines()
        .filter_map(|line| {
            let (_, rest) = line.split_once(" -> ")?;
            let id = rest.split([' ', ',']).next()?;
            Some(id.to_owned())
        })
        .collect()
}

fn seeds(default: &[u64]) -> Vec<u64> {
    if let Ok(one) = std::env::var("PARITY_SEED") {
        return vec![one.parse().expect("PARITY_SEED is a number")];
    }
    let mut seeds: Vec<u64> = REGRESSIONS.iter().chain(default).copied().collect();
    if let Ok(k) = std::env::var("PARITY_CASES") {
        let k: u64 = k.parse().expect("PARITY_CASES is a number");
        let base = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        seeds.extend((0..k).map(|i| base.wrapping_mul(31).wrapping_add(i)));
    }
    seeds
}

#[test]
fn engines_agree_on_small_random_histories() {
    for seed in seeds(&(1..=24).collect::<Vec<u64>>()) {
        let size = 2 + (seed as usize * 7) % 40;
        check_seed(seed, size);
    }
}

#[test]
fn engines_agree_on_a_500_revision_history() {
    for seed in seeds(&[1001, 1002]) {
        check_seed(seed, 500);
    }
}

#[test]
fn engines_agree_on_a_2000_revision_history() {
    check_seed(2026, 2000);
}
