//! Where the processes run: on a machine of several cores the load
//! generator keeps core 0 and each server gets the others, so no server
//! competes with the generator for a core and every server, Node's
//! single-threaded ones and weft-server alike, has the same cores.
//! (weft-server sizes its thread pool by the cores it may use.)

use std::process::Command;

/// The cores of the servers and of the generator (`taskset -c` lists), or
/// `None` on one core or without `taskset`: then nothing is pinned.
#[derive(Debug, Clone)]
pub struct Placement {
    pub servers: String,
    pub generator: String,
}

impl Placement {
    /// Core 0 for the generator, the rest for the servers.
    pub fn split() -> Option<Placement> {
        let cores = std::thread::available_parallelism().ok()?.get();
        let have_taskset = Command::new("taskset")
            .arg("-V")
            .output()
            .is_ok_and(|o| o.status.success());
        (cores >= 2 && have_taskset).then(|| Placement {
            servers: match cores {
                2 => "1".to_owned(),
                n => format!("1-{}", n - 1),
            },
            generator: "0".to_owned(),
        })
    }

    /// Pins this process (before its threads start) to the generator's core.
    pub fn pin_generator(&self) -> Result<(), String> {
        let status = Command::new("taskset")
            .args(["-a", "-p", "-c", &self.generator])
            .arg(std::process::id().to_string())
            .stdout(std::process::Stdio::null())
            .status()
            .map_err(|e| format!("taskset: {e}"))?;
        status
            .success()
            .then_some(())
            .ok_or(format!("taskset failed: {status}"))
    }

    /// `program` run on the servers' cores.
    pub fn server_command(&self, program: &std::ffi::OsStr) -> Command {
        let mut command = Command::new("taskset");
        command.args(["-c", &self.servers]).arg(program);
        command
    }

    pub fn describe(&self) -> String {
        format!(
            "servers on cores {}, load generator on core {}",
            self.servers, self.generator
        )
    }
}
