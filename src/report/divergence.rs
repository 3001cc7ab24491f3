//! A diverged component's picture, in the components document (`divergence`) and in `heads`:
//! each head's branch back to the fork point, whether its revisions are released, and what
//! `fix-heads` would do (or why it would refuse).

use schemars::JsonSchema;
use serde::Serialize;

use crate::graph::Graph;
use crate::heads::{Explanation, Fix};
use crate::workspace::Config;

/// Why the heads diverged and how they would be joined.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
#[schemars(rename = "Divergence")]
pub struct DivergenceReport {
    /// The newest revision every head descends from; null when they share none. Stable.
    pub fork_point: Option<String>,
    /// How released-ness was told: `{"by": "git", "upstream"}` or `{"by": "part-of", "why"}`.
    /// Stable.
    pub released_by: Evidence,
    /// One per head, in Alembic's head order. Stable.
    pub branches: Vec<BranchReport>,
    /// The repoint `fix-heads` would make, when it can act. Stable.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<FixReport>,
    /// Why `fix-heads` would refuse. Unstable: wording.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refused: Option<String>,
}

/// Is a migration released (may it still be moved)?
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Released {
    /// Released: it must not be moved.
    Yes,
    /// Not released yet.
    No,
    /// Neither git nor a `# Part of:` comment tells.
    Unknown,
}

impl From<crate::heads::released::Released> for Released {
    fn from(r: crate::heads::released::Released) -> Released {
        use crate::heads::released::Released as R;
        match r {
            R::Yes => Released::Yes,
            R::No => Released::No,
            R::Unknown => Released::Unknown,
        }
    }
}

/// How released-ness was told.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(tag = "by", rename_all = "kebab-case")]
#[schemars(deny_unknown_fields)]
pub enum Evidence {
    /// The file exists on this ref (`upstream`). Stable.
    Git {
        /// The upstream ref compared with. Stable.
        upstream: String,
    },
    /// `# Part of:` comments, because git could not tell (`why`). Stable.
    PartOf {
        /// Why git could not tell. Unstable: wording.
        why: String,
    },
}

impl From<&crate::heads::released::Evidence> for Evidence {
    fn from(e: &crate::heads::released::Evidence) -> Evidence {
        use crate::heads::released::Evidence as E;
        match e {
            E::Git { upstream } => Evidence::Git {
                upstream: upstream.clone(),
            },
            E::PartOf { why } => Evidence::PartOf { why: why.clone() },
        }
    }
}

/// One head's branch.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
#[schemars(rename = "Branch")]
pub struct BranchReport {
    /// The head revision. Stable.
    pub head: String,
    /// From just above the fork point up to the head. Stable.
    pub revisions: Vec<BranchRevision>,
}

/// A revision on a diverged branch.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct BranchRevision {
    /// Stable.
    pub id: String,
    /// The migration's message. Stable.
    pub message: String,
    /// Its file, relative to the workspace root. Stable.
    pub file: String,
    /// Stable.
    pub released: Released,
}

/// What `fix-heads` would do.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
#[schemars(rename = "DivergenceFix")]
pub struct FixReport {
    /// The command that does it, for people to paste. Unstable: wording.
    pub command: String,
    /// `repoint` (a branch that diverged from main) or `merge` (main itself has several heads).
    /// Stable.
    #[schemars(extend("enum" = ["repoint", "merge"]))]
    pub action: &'static str,
    /// repoint: the migration whose down_revision changes. Stable.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revision: Option<String>,
    /// repoint: that migration's file. Stable.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// repoint: its down_revision now. Stable.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// repoint: its down_revision after. Stable.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub onto: Option<String>,
    /// merge: the heads the empty merge migration joins, in Alembic's head order. Stable.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub heads: Vec<String>,
}

impl DivergenceReport {
    pub fn new(config: &Config, g: &Graph, e: &Explanation) -> DivergenceReport {
        let file = |r: usize| config.shown_path(g.rev(r).path.as_deref());
        DivergenceReport {
            fork_point: e.divergence.fork.map(|f| g.rev(f).id.clone()),
            released_by: (&e.releases.evidence).into(),
            branches: e
                .divergence
                .branches
                .iter()
                .map(|b| BranchReport {
                    head: g.rev(b.head).id.clone(),
                    revisions: b
                        .revisions
                        .iter()
                        .map(|&r| BranchRevision {
                            id: g.rev(r).id.clone(),
                            message: g.rev(r).message.clone(),
                            file: file(r),
                            released: e.releases.get(r).into(),
                        })
                        .collect(),
                })
                .collect(),
            fix: e.plan.as_ref().ok().map(|fix| {
                let command = crate::next_step::fix_heads_hint(config, g, fix);
                match fix {
                    Fix::Repoint(r) => FixReport {
                        command,
                        action: "repoint",
                        revision: Some(g.rev(r.revision).id.clone()),
                        file: Some(file(r.revision)),
                        from: Some(g.rev(r.from).id.clone()),
                        onto: Some(g.rev(r.onto).id.clone()),
                        heads: Vec::new(),
                    },
                    Fix::Merge(m) => FixReport {
                        command,
                        action: "merge",
                        revision: None,
                        file: None,
                        from: None,
                        onto: None,
                        heads: m.heads.iter().map(|&h| g.rev(h).id.clone()).collect(),
                    },
                }
            }),
            refused: e.plan.as_ref().err().map(|why| why.describe(g)),
        }
    }
}
