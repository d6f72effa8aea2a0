//! The window's saved state on disk: never written through a link, never read from a FIFO, a
//! device or a huge file, never kept in another user's folder, and damaged values dropped. The
//! review's cases: root with another user's HOME (`sudo -E`) overwrote a root-owned file through
//! that user's `app.ron` link; a NaN zoom panicked every start; a FIFO hung it; `/dev/zero` grew
//! to 8 GB.
#![cfg(unix)]
#![allow(clippy::unwrap_used)] // In tests a failed unwrap is a failed test, with its message.

mod common;

use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
use std::path::PathBuf;
use std::time::Duration;

use port_inspector::gui::saved::Saved;
use port_inspector::gui::state_file::{self, FILE_NAME, StateFile, StateProblem, WindowSize};

fn scratch(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("pi-state-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o700)).unwrap();
    d
}

/// Opens the state in `dir` on another thread, so a start that would hang fails the test
/// instead of hanging it.
fn open_within(
    dir: &std::path::Path,
    secs: u64,
) -> (Option<StateFile>, Option<state_file::Notice>) {
    let (tx, rx) = std::sync::mpsc::channel();
    let dir = dir.to_path_buf();
    std::thread::spawn(move || {
        let _ = tx.send(StateFile::open_in(&dir));
    });
    rx.recv_timeout(Duration::from_secs(secs))
        .expect("opening the saved state returned (it must never wait on a FIFO or a device)")
}

#[test]
fn a_link_at_the_state_is_replaced_never_followed() {
    let d = scratch("link");
    let victim = d.join("precious");
    std::fs::write(&victim, "precious").unwrap();
    std::os::unix::fs::symlink(&victim, d.join(FILE_NAME)).unwrap();
    let (store, notice) = open_within(&d, 10);
    let mut store = store.expect("the state can still be saved there");
    let notice = notice.expect("the window says the state was not used");
    assert!(matches!(notice.problem, StateProblem::Link), "{notice}");
    assert!(notice.saving, "{notice}");
    assert!(notice.to_string().contains("symbolic link"), "{notice}");
    eframe::set_value(&mut store, "port-inspector-state", &Saved::default());
    store.try_flush().expect("saved");
    assert_eq!(
        std::fs::read_to_string(&victim).unwrap(),
        "precious",
        "never written through"
    );
    let m = std::fs::symlink_metadata(d.join(FILE_NAME)).unwrap();
    assert!(m.is_file(), "a regular file took the link's place");
    assert!(
        std::fs::read_to_string(d.join(FILE_NAME))
            .unwrap()
            .contains("port-inspector-state"),
        "with the state"
    );
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn a_fifo_a_device_or_a_huge_file_is_never_read() {
    let d = scratch("odd");
    let state = d.join(FILE_NAME);
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&state)
            .status()
            .unwrap()
            .success(),
        "mkfifo"
    );
    let (store, notice) = open_within(&d, 10);
    assert!(store.is_some(), "still saved there");
    assert!(
        matches!(
            notice.as_ref().map(|n| &n.problem),
            Some(StateProblem::NotRegular)
        ),
        "{notice:?}"
    );
    std::fs::remove_file(&state).unwrap();
    std::os::unix::fs::symlink("/dev/zero", &state).unwrap();
    let (_, notice) = open_within(&d, 10);
    assert!(
        matches!(
            notice.as_ref().map(|n| &n.problem),
            Some(StateProblem::Link)
        ),
        "{notice:?}"
    );
    std::fs::remove_file(&state).unwrap();
    let f = std::fs::File::create(&state).unwrap();
    f.set_len(state_file::MAX_BYTES + 1).unwrap();
    drop(f);
    let (_, notice) = open_within(&d, 10);
    assert!(
        matches!(
            notice.as_ref().map(|n| &n.problem),
            Some(StateProblem::TooLarge)
        ),
        "{notice:?}"
    );
    std::fs::remove_dir_all(&d).unwrap();
}

/// eframe's own keys are dropped (egui's memory held the NaN zoom that panicked every start);
/// a damaged file starts with defaults and says so; a saved window size is used only when a
/// screen can show it.
#[test]
fn damaged_values_are_dropped() {
    let d = scratch("damaged");
    let state = d.join(FILE_NAME);
    std::fs::write(
        &state,
        r#"{"egui": "(options: (zoom_factor: NaN))", "window": "(inner_size_points: Some((1e9, 1e9)))", "port-inspector-state": "(tab: Scan)"}"#,
    )
    .unwrap();
    let (store, notice) = open_within(&d, 10);
    let store = store.unwrap();
    assert!(notice.is_none(), "{notice:?}");
    assert_eq!(
        eframe::Storage::get_string(&store, "egui"),
        None,
        "egui's memory dropped"
    );
    assert_eq!(
        eframe::Storage::get_string(&store, "window"),
        None,
        "eframe's geometry dropped"
    );
    assert_eq!(
        Saved::load(Some(&store)).tab,
        port_inspector::gui::action::Tab::Scan,
        "the window's own state kept"
    );
    std::fs::write(&state, "{\"port-inspector-state\": (((").unwrap();
    let (_, notice) = open_within(&d, 10);
    let notice = notice.unwrap();
    assert!(
        matches!(notice.problem, StateProblem::Damaged(_)),
        "{notice}"
    );
    assert!(
        notice.to_string().contains("started with its defaults"),
        "{notice}"
    );
    for (width, height) in [
        (f32::NAN, 700.0),
        (1e9, 800.0),
        (1e-9, 600.0),
        (1000.0, f32::INFINITY),
    ] {
        assert_eq!(
            WindowSize { width, height }.validated(),
            None,
            "{width}x{height}"
        );
    }
    assert!(
        WindowSize {
            width: 1024.0,
            height: 720.0
        }
        .validated()
        .is_some(),
        "a real size"
    );
    std::fs::remove_dir_all(&d).unwrap();
}

/// A folder others may write in is neither read nor written.
#[test]
fn a_folder_others_may_write_is_not_used() {
    let d = scratch("shared");
    std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o777)).unwrap();
    let (store, notice) = open_within(&d, 10);
    assert!(store.is_none(), "nothing is saved there");
    let notice = notice.unwrap();
    assert!(
        matches!(notice.problem, StateProblem::NotOwnFolder(_)),
        "{notice}"
    );
    assert!(
        notice.to_string().contains("not saved in this run"),
        "{notice}"
    );
    assert!(!d.join(FILE_NAME).exists(), "nothing written");
    std::fs::remove_dir_all(&d).unwrap();
}

/// Root with another user's HOME and XDG_DATA_HOME (as `sudo -E` leaves them) keeps its state in
/// its own home; that user's folder is never used.
#[test]
#[ignore = "needs root: a folder of another user; CI runs it (cargo test -- --include-ignored)"]
fn an_elevated_window_keeps_its_own_state() {
    common::require(common::is_root(), "root, to make a folder of another user");
    let d = scratch("sudo");
    std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o755)).unwrap();
    let theirs = d.join("home");
    std::fs::create_dir(&theirs).unwrap();
    std::os::unix::fs::chown(&theirs, Some(65534), Some(65534)).unwrap();
    let dir = state_file::dir_for(Some(theirs.join(".local/share")), Some(theirs.clone()))
        .expect("root has a home");
    assert!(
        !dir.starts_with(&theirs),
        "{} is not under the user's home",
        dir.display()
    );
    let root_home = PathBuf::from(
        std::fs::read_to_string("/etc/passwd")
            .unwrap()
            .lines()
            .find(|l| l.starts_with("root:"))
            .and_then(|l| l.split(':').nth(5))
            .unwrap(),
    );
    assert!(
        dir.starts_with(&root_home),
        "{} is in root's own home",
        dir.display()
    );
    // The user's own folder, if it came to that, is refused: it is not root's.
    let (store, notice) = open_within(&theirs, 10);
    assert!(store.is_none(), "never saved into another user's folder");
    assert!(matches!(
        notice.unwrap().problem,
        StateProblem::NotOwnFolder(_)
    ));
    assert_eq!(std::fs::metadata(&theirs).unwrap().uid(), 65534);
    std::fs::remove_dir_all(&d).unwrap();
}

/// What the window saves comes back the next time (the form, through the real file).
#[test]
fn the_state_round_trips_through_the_file() {
    let d = scratch("trip");
    let (store, notice) = open_within(&d.join("made/on/demand"), 10);
    assert!(notice.is_none(), "{notice:?}");
    let mut store = store.unwrap();
    let mut saved = Saved::default();
    saved.check.port_text = "8089".into();
    saved.tab = port_inspector::gui::action::Tab::Listening;
    eframe::set_value(&mut store, "port-inspector-state", &saved);
    store.try_flush().unwrap();
    let m = std::fs::metadata(d.join("made/on/demand")).unwrap();
    assert_eq!(
        m.mode() & 0o777,
        0o700,
        "a folder made for it is the user's alone"
    );
    let (store, _) = open_within(&d.join("made/on/demand"), 10);
    assert_eq!(
        Saved::load(store.as_ref().map(|s| s as &dyn eframe::Storage)),
        saved
    );
    std::fs::remove_dir_all(&d).unwrap();
}
