//! The three Backend.AI components that keep their schema with Alembic.

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Component {
    Manager,
    Accountmgr,
    Appproxy,
}

impl Component {
    pub const ALL: [Component; 3] = [
        Component::Manager,
        Component::Accountmgr,
        Component::Appproxy,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Component::Manager => "manager",
            Component::Accountmgr => "accountmgr",
            Component::Appproxy => "appproxy",
        }
    }

    /// The ini file at the workspace root.
    pub fn ini(self) -> &'static str {
        match self {
            Component::Manager => "alembic.ini",
            Component::Accountmgr => "alembic-accountmgr.ini",
            Component::Appproxy => "alembic-appproxy.ini",
        }
    }

    /// The template `install-dev.sh` copies to the root ini.
    pub fn template(self) -> &'static str {
        match self {
            Component::Manager => "configs/manager/halfstack.alembic.ini",
            Component::Accountmgr => "configs/account-manager/halfstack.alembic.ini",
            Component::Appproxy => "configs/app-proxy-coordinator/halfstack.alembic.ini",
        }
    }

    /// The services to restart after this component's schema changed.
    pub fn services(self) -> &'static str {
        match self {
            Component::Manager => "the manager (`./backend.ai mgr start-server`)",
            Component::Accountmgr => "the account manager",
            Component::Appproxy => "the app-proxy coordinator",
        }
    }

    pub fn from_ini_name(file_name: &str) -> Option<Component> {
        Component::ALL.into_iter().find(|c| c.ini() == file_name)
    }
}
