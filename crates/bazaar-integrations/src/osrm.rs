//! An OSRM-compatible road server (`osrm-routed`, or a hosted one speaking its API): the
//! `table` service behind [`bazaar_plan::TableService`].

use crate::http::{agent, check_url};
use bazaar_plan::TableService;
use std::time::Duration;

/// The most an answer may weigh: a 50 × 50 block is some 60 KB; this bounds a server gone
/// wrong.
const MAX_ANSWER: u64 = 64 * 1024 * 1024;

/// An OSRM server, e.g. `http://127.0.0.1:5000`: a 5-second connect and a 60-second overall
/// timeout per request.
#[derive(Clone)]
pub struct Osrm {
    base: String,
    agent: ureq::Agent,
}

impl std::fmt::Debug for Osrm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Osrm")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

impl Osrm {
    /// The server at `base` (`http://` or `https://`).
    pub fn new(base: &str) -> Result<Osrm, String> {
        check_url("OSRM", base)?;
        Ok(Osrm {
            base: base.trim_end_matches('/').to_string(),
            agent: agent(Duration::from_secs(60)),
        })
    }
}

impl TableService for Osrm {
    #[tracing::instrument(name = "osrm_table", skip_all)]
    fn get(&self, path: &str) -> Result<String, String> {
        let url = format!("{}{path}", self.base);
        let fail = |e: ureq::Error| format!("{}: {e}", self.base);
        let mut res = self
            .agent
            .get(&url)
            .header("Accept", "application/json")
            .call()
            .map_err(fail)?;
        let status = res.status().as_u16();
        let text = res
            .body_mut()
            .with_config()
            .limit(MAX_ANSWER)
            .read_to_string()
            .map_err(fail)?;
        if status != 200 && !text.trim_start().starts_with('{') {
            return Err(format!("HTTP {status}"));
        }
        Ok(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufRead, BufReader, Write};

    #[test]
    fn a_table_request_reaches_the_server_and_a_missing_server_is_an_error() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        let server = std::thread::spawn(move || {
            let (conn, _) = listener.accept().expect("conn");
            let mut reader = BufReader::new(&conn);
            let mut line = String::new();
            reader.read_line(&mut line).expect("line");
            loop {
                let mut h = String::new();
                if reader.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
                    break;
                }
            }
            let body = r#"{"code":"Ok","distances":[[0]],"durations":[[0]]}"#;
            let mut w = &conn;
            write!(
                w,
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            )
            .expect("write");
            line
        });
        let osrm = Osrm::new(&format!("http://{addr}/")).expect("osrm");
        let got = osrm.get("/table/v1/driving/100.2,29.9?sources=0&destinations=0");
        assert_eq!(got.as_deref().map(|b| b.contains("\"Ok\"")), Ok(true));
        let line = server.join().expect("server");
        assert!(
            line.starts_with("GET /table/v1/driving/100.2,29.9?sources=0"),
            "{line}"
        );
        let down = Osrm::new("http://127.0.0.1:9").expect("osrm");
        assert!(down.get("/table/v1/driving/1,1").is_err());
        assert!(Osrm::new("osrm.local:5000").is_err());
    }
}
