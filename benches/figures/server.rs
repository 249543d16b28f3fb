//! `gavel serve` throughput: queue pages and decisions per second from
//! concurrent clients on loopback, dealt over one server or several on one
//! database.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use gavel::backend::http::{HttpBackend, Token};
use gavel::backend::{GovernanceBackend, QueueFilter, QueueQuery, QueueSort};
use gavel::domain::Role;

use super::report::Figure;

pub const CLIENTS: usize = 8;

/// Queue pages and decisions per second.
pub struct Throughput {
    pub reads: f64,
    pub decisions: f64,
}

/// [`CLIENTS`] clients, dealt round-robin over the servers at `urls`, each
/// for `seconds` reading queue pages and then deciding steps.
/// Queue pages and decisions per second through the servers at `urls`.
/// Decisions draw on the workflows waiting in the store: a run leaves the
/// runs after it on the same store (`runs_after`) their share, so none of
/// them finds nothing to decide.
pub async fn throughput(
    urls: &[String],
    token: &str,
    seconds: u64,
    runs_after: usize,
) -> Throughput {
    let clients: Vec<Arc<HttpBackend>> = (0..CLIENTS)
        .map(|n| {
            let url = &urls[n % urls.len()];
            Arc::new(HttpBackend::new(url, Token::new(token.to_owned())).expect("client"))
        })
        .collect();
    let window = Duration::from_secs(seconds);

    // Queue pages of 50 over all four review roles, as the console asks.
    let query = QueueQuery::first(QueueFilter::for_roles(&Role::ALL), QueueSort::Age, 50);
    let done = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let tasks: Vec<_> = clients
        .iter()
        .map(|client| {
            let (client, query, done) = (Arc::clone(client), query.clone(), Arc::clone(&done));
            tokio::spawn(async move {
                while started.elapsed() < window {
                    client.queue(&query).await.expect("queue page");
                    done.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("reader");
    }
    let reads = done.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64();

    // Decisions on distinct workflows waiting on the user's roles.
    let mut candidates = Vec::new();
    let mut page_query = QueueQuery::first(QueueFilter::for_roles(&Role::ALL), QueueSort::Age, 500);
    while candidates.len() < 20_000 {
        let page = clients[0].queue(&page_query).await.expect("queue");
        candidates.extend(
            page.items
                .iter()
                .filter_map(|item| super::sync::approval(item, Some("benchmark"))),
        );
        if !page.more_after {
            break;
        }
        page_query.cursor = page.last_cursor(QueueSort::Age);
    }
    let share = candidates.len() / (runs_after + 1);
    candidates.truncate(share);
    // A run with nothing to decide measures nothing: say so rather than
    // print 0/s.
    assert!(
        !candidates.is_empty(),
        "no workflow is waiting on the benchmark user's roles at {}: nothing to decide",
        urls.join(", ")
    );
    let candidates = Arc::new(std::sync::Mutex::new(candidates));
    let decided = Arc::new(AtomicUsize::new(0));
    let first_refusal = Arc::new(std::sync::Mutex::new(None::<String>));
    let started = Instant::now();
    let tasks: Vec<_> = clients
        .iter()
        .map(|client| {
            let (client, candidates, decided, first_refusal) = (
                Arc::clone(client),
                Arc::clone(&candidates),
                Arc::clone(&decided),
                Arc::clone(&first_refusal),
            );
            tokio::spawn(async move {
                while started.elapsed() < window {
                    let Some(decision) = candidates.lock().ok().and_then(|mut list| list.pop())
                    else {
                        return;
                    };
                    // Refusals (an ethics step without its review) still
                    // cost a round trip.
                    match client.decide(&decision).await {
                        Ok(_) => {
                            decided.fetch_add(1, Ordering::Relaxed);
                        }
                        Err(err) => {
                            if let Ok(mut first) = first_refusal.lock() {
                                first.get_or_insert_with(|| err.to_string());
                            }
                        }
                    }
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("decider");
    }
    let count = decided.load(Ordering::Relaxed);
    assert!(
        count > 0,
        "no decision went through at {}; the first refusal: {:?}",
        urls.join(", "),
        first_refusal.lock().ok().and_then(|first| first.clone())
    );
    let decisions = count as f64 / started.elapsed().as_secs_f64();
    Throughput { reads, decisions }
}

pub async fn figures(url: &str, token: &str, label: &str, seconds: u64) -> Vec<Figure> {
    let measured = throughput(&[url.to_owned()], token, seconds, 0).await;
    vec![
        Figure::new(
            format!("server: queue pages/s ({label}, {CLIENTS} clients, 50 rows, 4 roles)"),
            format!("{:.0}/s", measured.reads),
        ),
        Figure::new(
            format!("server: decisions/s ({label}, {CLIENTS} clients, each a durable commit)"),
            format!("{:.0}/s", measured.decisions),
        ),
    ]
}
