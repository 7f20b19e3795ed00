//! The webhook scenario: how long from a person's grant to the organisation's receiver holding
//! the signed `grant.created`, end to end (commit, worker poll, signing, HTTP).

use std::collections::HashMap;
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::{App, HttpResponse, HttpServer, web};
use serde_json::{Value, json};

type Arrivals = Arc<Mutex<HashMap<String, Instant>>>;

/// A receiver on loopback that notes when each grant's event arrived.
pub struct Receiver {
    pub url: String,
    arrivals: Arrivals,
    handle: actix_web::dev::ServerHandle,
}

impl Receiver {
    pub fn start() -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let arrivals: Arrivals = Arc::default();
        let shared = arrivals.clone();
        let (sender, handles) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            actix_web::rt::System::new().block_on(async move {
                let server = HttpServer::new(move || {
                    App::new().app_data(web::Data::new(shared.clone())).route(
                        "/hook",
                        web::post().to(
                            |body: web::Json<Value>, arrivals: web::Data<Arrivals>| async move {
                                if let Some(grant) = body["data"]["grant_id"].as_str() {
                                    arrivals
                                        .lock()
                                        .unwrap()
                                        .insert(grant.to_owned(), Instant::now());
                                }
                                HttpResponse::NoContent().finish()
                            },
                        ),
                    )
                })
                .workers(2)
                .listen(listener)
                .unwrap()
                .run();
                sender.send(server.handle()).unwrap();
                let _ = server.await;
            })
        });
        Receiver {
            url,
            arrivals,
            handle: handles.recv().unwrap(),
        }
    }

    /// Waits (up to 30 s) for a grant's event; answers when it arrived.
    pub async fn arrival(&self, grant_id: &str) -> Instant {
        let waiting = Instant::now();
        loop {
            if let Some(at) = self.arrivals.lock().unwrap().get(grant_id) {
                return *at;
            }
            assert!(
                waiting.elapsed() < Duration::from_secs(30),
                "grant.created for {grant_id} never arrived"
            );
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }

    pub fn stop(self) {
        drop(self.handle.stop(false));
    }
}

/// Subscribes the organisation behind `token` to `grant.created` at the receiver.
pub async fn subscribe(http: &reqwest::Client, base_url: &str, token: &str, receiver: &Receiver) {
    let created = http
        .post(format!("{base_url}/v1/webhooks"))
        .bearer_auth(token)
        .json(&json!({"url": receiver.url, "event_types": ["grant.created"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201, "{:?}", created.text().await);
}

/// One person grants the organisation write access; answers the time from the request to the
/// event's arrival at the receiver.
pub async fn grant_to_arrival(
    http: &reqwest::Client,
    base_url: &str,
    person_token: &str,
    organisation_id: &str,
    receiver: &Receiver,
) -> Duration {
    let began = Instant::now();
    let expires = (chrono::Utc::now() + chrono::Duration::days(30)).to_rfc3339();
    let grant: Value = http
        .post(format!("{base_url}/v1/me/grants"))
        .bearer_auth(person_token)
        .json(&json!({"organisation_id": organisation_id, "permission": "write", "scope": {"records": "all"}, "purpose": "bench", "expires_at": expires}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = grant["id"].as_str().expect("a grant");
    receiver.arrival(id).await.duration_since(began)
}
