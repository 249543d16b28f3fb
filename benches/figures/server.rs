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
pub async fn throughput(urls: &[String], token: &str, seconds: u64) -> Throughput {
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
    let candidates = Arc::new(std::sync::Mutex::new(candidates));
    let decided = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let tasks: Vec<_> = clients
        .iter()
        .map(|client| {
            let (client, candidates, decided) = (
                Arc::clone(client),
                Arc::clone(&candidates),
                Arc::clone(&decided),
            );
            tokio::spawn(async move {
                while started.elapsed() < window {
                    let Some(decision) = candidates.lock().ok().and_then(|mut list| list.pop())
                    else {
                        return;
                    };
                    // Refusals (an ethics step without its review) still
                    // cost a round trip.
                    if client.decide(&decision).await.is_ok() {
                        decided.fetch_add(1, Ordering::Relaxed);
                    }
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("decider");
    }
    let decisions = decided.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64();
    Throughput { reads, decisions }
}

pub async fn figures(url: &str, token: &str, label: &str, seconds: u64) -> Vec<Figure> {
    let measured = throughput(&[url.to_owned()], token, seconds).await;
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
