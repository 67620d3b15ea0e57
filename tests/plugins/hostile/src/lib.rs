//! A rule that misbehaves on demand, so tests can show that the sandbox
//! holds. The policy's `attack` setting picks the misbehaviour; `none`
//! makes it a well-behaved rule that flags every `train` event.

use covenant_sdk::{Event, Findings, Rule, Timestamp, export_rule};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    attack: Attack,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
enum Attack {
    None,
    LoopInNew,
    PanicInObserve,
    LoopInObserve,
    SleepInObserve,
    GrowMemoryInObserve,
    StrayFindingInFinish,
}

pub struct Hostile {
    attack: Attack,
    hoard: Vec<Vec<u8>>,
}

impl Rule for Hostile {
    const ID: &'static str = "hostile";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const DESCRIPTION: &'static str = "Misbehaves as configured, to test the sandbox.";
    const COMMITMENT: &'static str = "None: this is a test plugin.";
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

    fn observe(&mut self, event: &Event, findings: &mut Findings) {
        match self.attack {
            Attack::PanicInObserve => panic!("hostile plugin panics on event {}", event.id),
            Attack::LoopInObserve => spin(),
            Attack::SleepInObserve => std::thread::sleep(std::time::Duration::from_secs(3600)),
            Attack::GrowMemoryInObserve => loop {
                self.hoard.push(vec![1u8; 1 << 20]);
            },
            _ if event.action == "train" => findings.report(&event.id, "a train event"),
            _ => {}
        }
    }

    fn finish(&mut self, _as_of: Timestamp, findings: &mut Findings) {
        if self.attack == Attack::StrayFindingInFinish {
            findings.report("no-such-event", "about an event the host never sent");
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

export_rule!(Hostile);
