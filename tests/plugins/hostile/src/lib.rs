//! A rule that misbehaves on demand, so tests can show that the sandbox
//! holds. The policy's `attack` setting picks the misbehaviour; `none`
//! makes it a well-behaved rule that flags every `train` event.
//!
//! The probing attacks (`read-file`, `read-env`, ...) try to reach the host
//! and then panic with what they saw, so the test can check the exact
//! outcome in the rule's error.

use covenant_sdk::{Event, Findings, Rule, Severity, Timestamp, export_rule};
use serde::{Deserialize, Serialize};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    attack: Attack,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
enum Attack {
    None,
    LoopInNew,
    LoopInObserve,
    LoopInFinish,
    PanicInObserve,
    Unreachable,
    StackOverflow,
    GrowMemoryInObserve,
    HugeAllocation,
    SleepInObserve,
    ReadFile,
    ListDirectory,
    ReadEnv,
    OpenSocket,
    ReadClock,
    ReadRandom,
    Exit,
    ManyFindings,
    HugeMessage,
}

#[derive(Serialize, Deserialize)]
pub struct Hostile {
    attack: Attack,
    hoard: Vec<Vec<u8>>,
}

impl Rule for Hostile {
    const ID: &'static str = "hostile";
    const DESCRIPTION: &'static str = "Misbehaves as configured, to test the sandbox.";
    const COMMITMENT: &'static str = "None: this is a test plugin.";
    const SEVERITY: Severity = Severity::Info;
    type Config = Config;

    fn new(config: Config) -> Result<Self, String> {
        if config.attack == Attack::LoopInNew {
            spin();
        }
        Ok(Hostile {
            attack: config.attack,
            hoard: Vec::new(),
        })
    }

    fn observe(&mut self, event: &Event<'_>, findings: &mut Findings) {
        match self.attack {
            Attack::LoopInObserve => spin(),
            Attack::PanicInObserve => panic!("hostile plugin panics on event {}", event.id),
            Attack::Unreachable => std::process::abort(),
            Attack::StackOverflow => panic!("recursed {}", recurse(event.id.len() as u64)),
            Attack::GrowMemoryInObserve => loop {
                self.hoard.push(vec![1u8; 1 << 20]);
            },
            Attack::HugeAllocation => {
                // Under wasm32's 2 GiB allocation ceiling, far over the cap.
                let size = std::hint::black_box(1536usize << 20);
                self.hoard.push(vec![1u8; size]);
            }
            Attack::SleepInObserve => std::thread::sleep(std::time::Duration::from_secs(3600)),
            Attack::ReadFile => match std::fs::read_to_string("/etc/passwd") {
                Ok(text) => panic!("read a host file: {}", text.len()),
                Err(e) => panic!("file: {e}"),
            },
            Attack::ListDirectory => match std::fs::read_dir("/") {
                Ok(entries) => panic!("listed the host's root: {} entries", entries.count()),
                Err(e) => panic!("directory: {e}"),
            },
            Attack::ReadEnv => panic!(
                "environment: {} variables, {} arguments",
                std::env::vars_os().count(),
                std::env::args_os().count()
            ),
            Attack::OpenSocket => match std::net::TcpStream::connect("127.0.0.1:22") {
                Ok(_) => panic!("connected to the host"),
                Err(e) => panic!("socket: {e}"),
            },
            Attack::ReadClock => {
                let since_epoch = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_secs());
                panic!("clock: {since_epoch:?}")
            }
            Attack::ReadRandom => {
                use std::hash::BuildHasher;
                let seeded = std::collections::hash_map::RandomState::new().hash_one(0u8);
                panic!("random: {seeded}")
            }
            Attack::Exit => std::process::exit(0),
            Attack::ManyFindings => findings.report(event, "x"),
            Attack::HugeMessage if self.hoard.is_empty() => {
                self.hoard.push(Vec::new());
                findings.report(event, "x".repeat(100 << 20));
            }
            _ if event.action == "train" => findings.report(event, "a train event"),
            _ => {}
        }
    }

    fn finish(&mut self, _as_of: Timestamp, _findings: &mut Findings) {
        if self.attack == Attack::LoopInFinish {
            spin()
        }
    }
}

/// Burns CPU forever, in a way the optimiser cannot remove.
fn spin() -> ! {
    let mut n: u64 = 0;
    loop {
        n = std::hint::black_box(n.wrapping_add(1));
    }
}

/// Recurses without end; the result is never produced.
#[allow(unconditional_recursion, reason = "the attack is the recursion")]
fn recurse(depth: u64) -> u64 {
    let frame = std::hint::black_box([depth; 64]);
    recurse(depth + 1).wrapping_add(frame[(depth % 64) as usize])
}

export_rule!(Hostile);
