//! What a view asks for, and the tabs.

use serde::{Deserialize, Serialize};

use crate::target::Protocol;

/// What a view asks for; applied in `App::apply`, the one place state changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Run the form's check.
    Test,
    /// Hide the note about the saved state.
    DismissStateNotice,
    /// Ask before closing this TCP connection.
    AskCloseConnection(Box<crate::owners::Owner>),
    /// Close the connection asked about.
    ConfirmClose,
    /// Keep it.
    CancelClose,
    /// Export the live table's shown rows: copied, or saved in the report folder.
    ExportSockets {
        /// The rows.
        rows: Vec<crate::owners::Owner>,
        /// As what.
        format: super::listening::ExportFormat,
        /// To a file (else the clipboard).
        save: bool,
    },
    /// Stop the running check.
    Cancel,
    /// Show history entry N.
    Show(usize),
    /// Run history entry N's target again.
    Rerun(usize),
    /// Run the shown answer's target again.
    RerunShown,
    /// Forget the history.
    ClearHistory,
    /// Load earlier run's check N into the form.
    LoadEarlier(usize),
    /// Show or hide the history panel.
    ToggleHistory,
    /// Copy the shown check's report to the clipboard.
    CopyReport,
    /// Re-read the interfaces.
    RefreshInterfaces,
    /// Ask to end owner N of the shown check (opens the confirmation).
    AskEnd(usize),
    /// The user confirmed ending the owner in the confirmation.
    ConfirmEnd,
    /// The user closed the confirmation without ending anything.
    CancelEnd,
    /// Copy this text's source: a PID.
    CopyPid(u32),
    /// Copy the command that ends this PID.
    CopyEndCommand(u32),
    /// Switch tabs.
    SetTab(Tab),
    /// Carry out a fix the window can do itself (another port, an option), then test again.
    ApplyFix(crate::diagnose::Fix),
    /// Open the check of one socket's address and port (from the Listening now tab).
    CheckSocket(std::net::SocketAddr, Protocol),
    /// Ask to end the holders of one socket's port (from the Listening now tab).
    EndSocket(std::net::SocketAddr, Protocol),
    /// Copy this text to the clipboard.
    CopyText(String),
    /// Start the scan the scan form describes.
    StartScan,
    /// Stop the running scan.
    CancelScan,
    /// Open the full check of one port from the scan table.
    CheckPort(u16, Protocol),
    /// Copy the visible scan rows as CSV.
    CopyScanCsv,
    /// Copy the visible scan rows as Markdown.
    CopyScanMarkdown,
    /// Open the Save report dialog (asks where, proposes a dated name).
    SaveReport,
    /// Write the report to the dialog's path; `replace` only after the user asked to.
    SaveTo {
        /// Replace an existing file (the user pressed Replace).
        replace: bool,
    },
    /// Close the Save report dialog.
    CancelSave,
    /// Read the machine facts again.
    RefreshFacts,
    /// Run the what-if matrix for the form's target.
    RunMatrix,
    /// Set the form to all interfaces (a hold on loopback cannot be reached from elsewhere).
    HoldAllInterfaces,
    /// Show matrix cell N's full check.
    OpenMatrixCell(usize),
    /// Start holding the form's target.
    StartListen,
    /// Stop holding.
    StopListen,
    /// Start watching the form's target until it is free.
    StartWatch,
    /// Stop watching.
    StopWatch,
    /// Start this program again elevated (pkexec / runas), on the user's click.
    RelaunchElevated,
}

/// The window's tabs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Tab {
    /// One bind, explained.
    Check,
    /// A range of ports.
    Scan,
    /// Facts, matrix, hold-and-listen, watch.
    Kit,
    /// Every socket on the machine, live.
    Listening,
    /// Watched ports, here and on other machines.
    Watches,
    /// What the flight recorder saw on one port.
    PortHistory,
}

impl Tab {
    /// Every tab, in the order the title bar shows them.
    pub const ALL: [Self; 6] = [
        Self::Check,
        Self::Scan,
        Self::Kit,
        Self::Listening,
        Self::Watches,
        Self::PortHistory,
    ];

    /// Its name in the title bar (and wherever the window says where something was done).
    #[must_use]
    pub fn label(self) -> &'static str {
        match self {
            Self::Check => "Check a port",
            Self::Scan => "Scan a range",
            Self::Kit => "Support kit",
            Self::Listening => "Listening now",
            Self::Watches => "Watches",
            Self::PortHistory => "Port history",
        }
    }
}
