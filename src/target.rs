//! Migration targets, validated before anything is spawned.
//!
//! Accepted forms (Alembic's own grammar, `[BRANCH@][SYMBOL][±N]`):
//! `head`, `heads`, `base`, a revision id or unique prefix (ids are not always hex),
//! `+N`/`-N`, `REV+N`/`REV-N`, `BRANCH@head`, `BRANCH@REV`, `BRANCH@+N`.

use std::fmt;
use std::sync::LazyLock;

use regex::Regex;

static TARGET: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?:(?P<branch>[A-Za-z0-9_][A-Za-z0-9_.-]*)@)?(?P<symbol>[A-Za-z0-9_]+)?(?P<relative>[+-][0-9]+)?$")
        .expect("valid regex")
});

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    raw: String,
    pub branch: Option<String>,
    pub symbol: Option<String>,
    pub relative: Option<i64>,
}

impl Target {
    pub fn parse(raw: &str) -> Result<Target, String> {
        let invalid = || {
            format!(
                "invalid target {raw:?}: expected head, heads, base, a revision id or prefix, \
                 +N/-N, REV+N/REV-N or BRANCH@head"
            )
        };
        let caps = TARGET.captures(raw).ok_or_else(invalid)?;
        let branch = caps.name("branch").map(|m| m.as_str().to_owned());
        let symbol = caps.name("symbol").map(|m| m.as_str().to_owned());
        let relative = match caps.name("relative") {
            Some(m) => Some(m.as_str().parse::<i64>().map_err(|_| invalid())?),
            None => None,
        };
        if let Some(keyword) = branch
            .as_deref()
            .filter(|b| matches!(*b, "head" | "heads" | "base"))
        {
            return Err(format!(
                "invalid target {raw:?}: {keyword} is not a branch label (BRANCH@… takes a label \
                 or a revision); use {keyword} alone, or a relative step such as -1"
            ));
        }
        if symbol.is_none() && relative.is_none() {
            return Err(invalid());
        }
        if relative == Some(0) {
            return Err(format!(
                "invalid target {raw:?}: a relative step of 0 does nothing"
            ));
        }
        Ok(Target {
            raw: raw.to_owned(),
            branch,
            symbol,
            relative,
        })
    }

    /// clap value parser.
    pub fn parse_arg(raw: &str) -> Result<Target, String> {
        Target::parse(raw)
    }

    pub fn as_str(&self) -> &str {
        &self.raw
    }

    /// A step counted from where the database is (`+N`, `-N`, `BRANCH@±N`): its sign must
    /// match the direction (Alembic: "Relative revision -1 didn't produce 1 migrations").
    pub fn step_from_current(&self) -> Option<i64> {
        match self.symbol {
            None => self.relative,
            Some(_) => None,
        }
    }

    /// The revision id or prefix the user typed, if any (not a keyword).
    pub fn revision_ref(&self) -> Option<&str> {
        match self.symbol.as_deref() {
            Some("head" | "heads" | "base") | None => None,
            Some(s) => Some(s),
        }
    }

    /// Whether Alembic's "Can't locate revision identified by 'X'" is about this target.
    pub fn mentions(&self, ident: &str) -> bool {
        self.revision_ref() == Some(ident)
            || self.branch.as_deref() == Some(ident)
            || self.raw == ident
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_every_alembic_form() {
        for ok in [
            "head",
            "heads",
            "base",
            "ae1027a6acf",
            "7h4m7ygnaao1",
            "6f8a4c0d2e3g",
            "+1",
            "-1",
            "-12",
            "ae10+2",
            "ae10-1",
            "head-1",
            "mybranch@head",
            "mybranch@+1",
            "feature.x@ae10",
            "base+1",
        ] {
            assert!(Target::parse(ok).is_ok(), "{ok} should parse");
        }
    }

    #[test]
    fn rejects_anything_else() {
        for bad in [
            "",
            " head",
            "head;rm -rf /",
            "a b",
            "$(id)",
            "-",
            "+",
            "x@",
            "@head",
            "ae10:bb",
            "+0",
            "héad",
            "a,b",
            "heads@-1",
            "head@+1",
            "base@head",
        ] {
            assert!(Target::parse(bad).is_err(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn splits_parts() {
        let t = Target::parse("lbl@ae10-2").unwrap();
        assert_eq!(t.branch.as_deref(), Some("lbl"));
        assert_eq!(t.symbol.as_deref(), Some("ae10"));
        assert_eq!(t.relative, Some(-2));
        assert_eq!(Target::parse("head").unwrap().revision_ref(), None);
        assert_eq!(
            Target::parse("ae10+1").unwrap().revision_ref(),
            Some("ae10")
        );
    }
}
