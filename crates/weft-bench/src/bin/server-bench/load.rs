//! The load scenario: many clients in many rooms, each typing at a steady
//! rate, all in this process; edit-to-other-clients latency, and the
//! server's CPU and memory over a measured window after a warm-up.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;
use tokio::time::{sleep_until, Instant};
use weft_bench::harness::client::{connect, Client, Replica, Wire};
use weft_bench::harness::delivery::{Receiver, RoomLog, Scope};
use weft_bench::harness::procfs::{self, CpuWindow, Memory};
use weft_bench::harness::rng::Rng;
use weft_bench::harness::stats::Latencies;
use weft_bench::harness::typing::Typist;

#[derive(Debug, Clone)]
pub struct LoadPlan {
    pub rooms: usize,
    pub per_room: usize,
    /// Edits per second per client.
    pub rate: f64,
    pub warmup: Duration,
    pub duration: Duration,
    pub seed: u64,
}

/// Connections opened at once while connecting (a crowd of browsers
/// arriving, not a SYN flood).
const CONNECTING_AT_ONCE: usize = 50;
/// After the last edit, how long receivers may take before an edit
/// counts as missing.
const DRAIN: Duration = Duration::from_secs(3);

pub struct LoadResult {
    pub latencies: Latencies,
    /// Deliveries of timed edits that never arrived.
    pub missing: usize,
    /// Keystrokes sent in the window.
    pub edits: usize,
    pub server_cpu: f64,
    pub generator_cpu: f64,
    /// CPU that other processes on the machine used meanwhile: builds or
    /// browsers running beside the benchmark skew its figures.
    pub other_cpu: f64,
    /// The server's memory at the end of the window.
    pub memory: Memory,
    /// From the first connect until every client was in sync.
    pub connect: Duration,
    /// Clients that failed, and the first failure.
    pub failed: usize,
    pub first_error: Option<String>,
}

/// What one client's run came to.
struct Outcome {
    latencies: Latencies,
    missing: usize,
    edits: usize,
    error: Option<String>,
}

pub async fn run(
    wire: Wire,
    addr: SocketAddr,
    server_pid: u32,
    plan: &LoadPlan,
) -> Result<LoadResult, String> {
    let started = Instant::now();
    let clients = connect_all(wire, addr, plan).await?;
    let connected = started.elapsed();

    let period = Duration::from_secs_f64(1.0 / plan.rate);
    let t0 = Instant::now() + Duration::from_millis(200);
    let window = (t0 + plan.warmup, t0 + plan.warmup + plan.duration);
    let mut tasks = Vec::new();
    let mut rng = Rng::new(plan.seed);
    for (log, members) in clients {
        for (member, client) in members.into_iter().enumerate() {
            let run = Run {
                member,
                log: log.clone(),
                typist: Typist::new(rng.next_u64()),
                first: t0 + period.mul_f64(rng.below(1000) as f64 / 1000.0),
                period,
                window: (window.0.into_std(), window.1.into_std()),
            };
            tasks.push(tokio::spawn(run.drive(client)));
        }
    }

    sleep_until(window.0).await;
    let server_cpu = CpuWindow::start(server_pid);
    let generator_cpu = CpuWindow::start(std::process::id());
    let machine = procfs::machine_busy();
    sleep_until(window.1).await;
    let (server_cpu, generator_cpu) = (server_cpu.percent(), generator_cpu.percent());
    let machine = procfs::machine_busy().saturating_sub(machine).as_secs_f64();
    let other_cpu = 100.0 * machine / plan.duration.as_secs_f64() - server_cpu - generator_cpu;
    let memory = procfs::memory(server_pid);

    let mut result = LoadResult {
        latencies: Latencies::default(),
        missing: 0,
        edits: 0,
        server_cpu,
        generator_cpu,
        other_cpu: other_cpu.max(0.0),
        memory,
        connect: connected,
        failed: 0,
        first_error: None,
    };
    for task in tasks {
        let outcome = task.await.map_err(|e| e.to_string())?;
        result.latencies.extend(outcome.latencies);
        result.missing += outcome.missing;
        result.edits += outcome.edits;
        if let Some(e) = outcome.error {
            result.failed += 1;
            result.first_error.get_or_insert(e);
        }
    }
    Ok(result)
}

/// Every client, connected and in sync, grouped by room with its log.
async fn connect_all(
    wire: Wire,
    addr: SocketAddr,
    plan: &LoadPlan,
) -> Result<Vec<(Arc<RoomLog>, Vec<Client>)>, String> {
    let gate = Arc::new(Semaphore::new(CONNECTING_AT_ONCE));
    let mut rooms = Vec::new();
    for r in 0..plan.rooms {
        let authors: Vec<u64> = (0..plan.per_room)
            .map(|i| 1 + (r * plan.per_room + i) as u64)
            .collect();
        let mut pending = Vec::new();
        for (i, &author) in authors.iter().enumerate() {
            let gate = gate.clone();
            pending.push(tokio::spawn(async move {
                let _turn = gate.acquire_owned().await.map_err(|e| e.to_string())?;
                let room = format!("load-{r}");
                let replica = Replica::empty(wire, &room, author);
                let mut client = connect(wire, addr, &room, &format!("p{i}"), replica).await?;
                client
                    .until(Duration::from_secs(30), |r| r.synced())
                    .await?;
                Ok::<Client, String>(client)
            }));
        }
        rooms.push((RoomLog::new(authors), pending));
    }
    let mut connected = Vec::new();
    for (log, pending) in rooms {
        let mut clients = Vec::new();
        for p in pending {
            clients.push(p.await.map_err(|e| e.to_string())??);
        }
        connected.push((log, clients));
    }
    Ok(connected)
}

/// One client's part: typing until the window ends, merging what
/// arrives until the drain time is over.
struct Run {
    member: usize,
    log: Arc<RoomLog>,
    typist: Typist,
    first: Instant,
    period: Duration,
    window: (std::time::Instant, std::time::Instant),
}

impl Run {
    async fn drive(mut self, mut client: Client) -> Outcome {
        let mut receiver = Receiver::new(self.member, self.log.clone(), Scope::All);
        let mut edits = 0;
        let error = self
            .exchange(&mut client, &mut receiver, &mut edits)
            .await
            .err();
        let missing = receiver.missing(self.window);
        let _ = tokio::time::timeout(Duration::from_secs(2), client.ws.close(None)).await;
        Outcome {
            latencies: receiver.latencies,
            missing,
            edits,
            error,
        }
    }

    async fn exchange(
        &mut self,
        client: &mut Client,
        receiver: &mut Receiver,
        edits: &mut usize,
    ) -> Result<(), String> {
        let author = self.log.author(self.member);
        let end = Instant::from_std(self.window.1);
        let stop = end + DRAIN;
        let mut next = self.first;
        loop {
            tokio::select! {
                _ = sleep_until(next), if next < end => {
                    let keystroke = self.typist.type_one(&mut client.replica);
                    let at = std::time::Instant::now();
                    if keystroke.inserted {
                        // One server: every client is on node 0.
                        self.log.sent(self.member, client.replica.clocks().get(author), at, 0);
                    }
                    if at >= self.window.0 && at < self.window.1 {
                        *edits += 1;
                    }
                    client.send(keystroke.messages).await?;
                    next += self.period;
                }
                message = client.recv() => {
                    client.handle(message?).await?;
                    receiver.merged(&client.replica.clocks(), self.window);
                }
                _ = sleep_until(stop) => return Ok(()),
            }
        }
    }
}
