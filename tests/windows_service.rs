//! A port held by a Windows service, for real under Wine 10: the holder example is installed as
//! a service and started by the service control manager. `who` names the service by its key and
//! display name, `check` advises `sc.exe stop` (never `taskkill` of the host process), and
//! `end` refuses to end the process and says how to stop the service.
#![cfg(windows)]
#![allow(clippy::unwrap_used)] // In tests a failed unwrap is a failed test, with its message.

mod common;

use std::ffi::OsString;
use std::time::{Duration, Instant};

use windows_service::service::{
    ServiceAccess, ServiceErrorControl, ServiceInfo, ServiceStartType, ServiceState, ServiceType,
};
use windows_service::service_manager::{ServiceManager, ServiceManagerAccess};

/// The service, stopped and deleted when dropped (a failed test leaves no service behind).
struct Installed(windows_service::service::Service);

impl Drop for Installed {
    fn drop(&mut self) {
        let _ = self.0.stop();
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(10)
            && self
                .0
                .query_status()
                .is_ok_and(|s| s.current_state != ServiceState::Stopped)
        {
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.0.delete();
    }
}

#[test]
fn a_port_held_by_a_windows_service_is_named_by_its_service_and_stopped_as_one() {
    let name = format!("PiHolder{}", std::process::id());
    let display = format!("Port Inspector test holder {}", std::process::id());
    let file = std::env::temp_dir().join(format!("{name}.port"));
    let _ = std::fs::remove_file(&file);
    let manager = ServiceManager::local_computer(
        None::<&str>,
        ServiceManagerAccess::CONNECT | ServiceManagerAccess::CREATE_SERVICE,
    )
    .unwrap();
    let service = manager
        .create_service(
            &ServiceInfo {
                name: OsString::from(&name),
                display_name: OsString::from(&display),
                service_type: ServiceType::OWN_PROCESS,
                start_type: ServiceStartType::OnDemand,
                error_control: ServiceErrorControl::Normal,
                executable_path: common::holder::path(),
                launch_arguments: vec![
                    "service".into(),
                    OsString::from(&name),
                    "127.0.0.1:0".into(),
                    file.clone().into_os_string(),
                ],
                dependencies: vec![],
                account_name: None,
                account_password: None,
            },
            ServiceAccess::START
                | ServiceAccess::STOP
                | ServiceAccess::QUERY_STATUS
                | ServiceAccess::DELETE,
        )
        .unwrap();
    let service = Installed(service);
    service.0.start::<&str>(&[]).unwrap();
    let start = Instant::now();
    let port: u16 = loop {
        if let Some(p) = std::fs::read_to_string(&file)
            .ok()
            .and_then(|t| t.trim().parse().ok())
        {
            break p;
        }
        assert!(
            start.elapsed() < Duration::from_mins(1),
            "the service wrote its port"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let pid = service.0.query_status().unwrap().process_id.unwrap();
    let port_text = port.to_string();

    // who: the holder, its PID as the service control manager gives it, and its service.
    let (code, v) = common::json(&["who", &port_text, "--json"]);
    assert_eq!(code, Some(0), "{v}");
    let o = v["owners"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["pid"] == pid)
        .unwrap_or_else(|| panic!("PID {pid} among the owners: {v}"));
    assert_eq!(
        o["process"].as_str().unwrap().to_lowercase(),
        common::holder::image()
    );
    assert_eq!(o["managed_by"]["kind"], "service", "{o}");
    assert_eq!(o["managed_by"]["services"][0]["name"], name.as_str(), "{o}");
    assert_eq!(
        o["managed_by"]["services"][0]["display"],
        display.as_str(),
        "{o}"
    );

    // check: the service named after the process, and its own fix.
    let out = common::bin()
        .args(["check", &format!("127.0.0.1:{port}")])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains(&format!("(PID {pid}), service: {name} ({display})")),
        "{text}"
    );
    assert!(text.contains(&format!("sc.exe stop {name}")), "{text}");
    assert!(
        !text.contains(&format!("taskkill /PID {pid}")),
        "never the host process: {text}"
    );

    // end: refused, with the way to stop the service; the service still holds the port.
    let out = common::bin()
        .args(["end", &port_text, "--yes"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(2), "refused: {text}");
    assert!(
        text.contains(&format!(
            "a Windows service process: stop the service instead, from an Administrator prompt: sc.exe stop {name}"
        )),
        "{text}"
    );
    assert_eq!(
        service.0.query_status().unwrap().current_state,
        ServiceState::Running,
        "still running"
    );
    drop(service);
    let _ = std::fs::remove_file(&file);
}
