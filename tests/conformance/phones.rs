//! SIP phones played by SIPp: one that answers every call, one that declines every call, a
//! one-shot REGISTER (digest auth through callplane's directory), and a phone dialling out.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::switch::work;

const DOMAIN: &str = "127.0.0.1";
const PROXY: &str = "127.0.0.1:5060";

fn scenario(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("conformance/sipp/{name}.xml"))
}

fn logs() -> PathBuf {
    let dir = work().join("artifacts/sipp");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// What the phone does when FreeSWITCH calls it.
#[derive(Clone, Copy)]
pub enum Behaviour {
    /// Rings `ring_ms`, answers, echoes RTP, waits for the BYE.
    Answer,
    /// Rings `ring_ms`, then 603 Decline.
    Decline,
}

/// A phone listening on `port` (its Contact); registered with [`Phone::register`].
pub struct Phone {
    pub user: String,
    pub password: String,
    pub port: u16,
    child: Child,
}

impl Phone {
    pub fn start(
        user: &str,
        password: &str,
        port: u16,
        behaviour: Behaviour,
        ring_ms: u32,
    ) -> Phone {
        let name = match behaviour {
            Behaviour::Answer => "answer",
            Behaviour::Decline => "reject",
        };
        let child = Command::new("sipp")
            .arg("-sf")
            .arg(scenario(name))
            .args(["-i", "127.0.0.1", "-p", &port.to_string()])
            .args([
                "-mi",
                "127.0.0.1",
                "-mp",
                &(16000 + (port - 5070) * 20).to_string(),
            ])
            .arg("-rtp_echo")
            .args(["-d", &ring_ms.to_string(), "-nostdin"])
            .arg("-trace_err")
            .arg("-error_file")
            .arg(logs().join(format!("{user}-{port}-errors.log")))
            .current_dir(logs())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("sipp runs (Debian package sip-tester)");
        std::thread::sleep(Duration::from_millis(300));
        Phone {
            user: user.into(),
            password: password.into(),
            port,
            child,
        }
    }

    /// One REGISTER with digest auth; true when FreeSWITCH answered 200.
    pub fn register(&self) -> bool {
        register(&self.user, &self.password, self.port, 3600)
    }

    pub fn unregister(&self) {
        register(&self.user, &self.password, self.port, 0);
    }
}

impl Drop for Phone {
    fn drop(&mut self) {
        self.unregister();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One REGISTER transaction (401 challenge, digest answer) with the Contact at
/// `contact_port`; true when it ended in 200.
pub fn register(user: &str, password: &str, contact_port: u16, expires: u32) -> bool {
    let status = Command::new("sipp")
        .arg(PROXY)
        .arg("-sf")
        .arg(scenario("register"))
        .args(["-i", "127.0.0.1", "-p", &(contact_port + 100).to_string()])
        .args(["-m", "1", "-nostdin", "-timeout", "10s"])
        .args(["-au", user, "-ap", password])
        .args(["-key", "user", user, "-key", "domain", DOMAIN])
        .args(["-key", "contact_port", &contact_port.to_string()])
        .args(["-key", "expires", &expires.to_string()])
        .current_dir(logs())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("sipp runs");
    status.success()
}

/// The phone `user` dials `dest` through the internal profile (digest auth), holds the call
/// `hold_secs` once answered, and hangs up. True when the call was answered.
pub fn call(user: &str, password: &str, dest: &str) -> bool {
    Command::new("sipp")
        .arg(PROXY)
        .arg("-sf")
        .arg(scenario("call"))
        .args([
            "-i",
            "127.0.0.1",
            "-p",
            "5072",
            "-mi",
            "127.0.0.1",
            "-mp",
            "16500",
        ])
        .arg("-rtp_echo")
        .args(["-m", "1", "-nostdin", "-timeout", "60s"])
        .args(["-au", user, "-ap", password])
        .args([
            "-key", "user", user, "-key", "domain", DOMAIN, "-key", "dest", dest,
        ])
        .arg("-trace_err")
        .arg("-error_file")
        .arg(logs().join(format!("call-{user}-{dest}-errors.log")))
        .current_dir(logs())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("sipp runs")
        .success()
}
