//! `GET /metrics` and the request log, through the real binary: a scrape after real traffic
//! (activations, a cold start, a 429, web requests) shows each of them; a token closes the
//! endpoint; JSON log lines carry the request's transaction id.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::{self, Shoal, get_with_authorization, request, set_limits};

/// The value of the series written exactly as `series` (name and labels), if present.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

#[test]
fn a_scrape_after_real_traffic_reports_it() {
    let dir = tempfile::tempdir().unwrap();
    let slow = support::namespace_create(dir.path(), "slow");
    set_limits(dir.path(), "slow", &["--invocations-per-minute", "1"]);
    let shoal = Shoal::serve(dir.path());
    let addr = shoal.addr.clone();
    let code = json!({"exec": {"kind": "nodejs:20", "code": "function main(p) { return {hi: p.name}; }"},
        "annotations": [{"key": "web-export", "value": true}]});
    for auth in [support::GUEST_AUTH, slow.as_str()] {
        let put = request(
            &addr,
            "PUT",
            "/api/v1/namespaces/_/actions/hi",
            Some(auth),
            Some(&code),
        );
        assert_eq!(put.status, 200, "{}", put.text());
    }
    for _ in 0..3 {
        let r = request(
            &addr,
            "POST",
            "/api/v1/namespaces/_/actions/hi?blocking=true",
            Some(support::GUEST_AUTH),
            Some(&json!({"name": "x"})),
        );
        assert_eq!(r.status, 200, "{}", r.text());
    }
    let web = request(
        &addr,
        "GET",
        "/api/v1/web/guest/default/hi.json?name=w",
        None,
        None,
    );
    assert_eq!(web.status, 200, "{}", web.text());
    // One a minute: of three calls within a minute's span, at least one is refused.
    let refused = (0..3)
        .map(|_| {
            request(
                &addr,
                "POST",
                "/api/v1/namespaces/_/actions/hi?blocking=true",
                Some(&slow),
                None,
            )
            .status
        })
        .filter(|&s| s == 429)
        .count();
    assert!(refused >= 1);

    let scrape = request(&addr, "GET", "/metrics", None, None);
    assert_eq!(scrape.status, 200, "{}", scrape.text());
    assert!(
        scrape
            .header("content-type")
            .unwrap()
            .starts_with("application/openmetrics-text")
    );
    let text = scrape.text();
    let activations = |ns: &str| {
        sample(
            &text,
            &format!(
                r#"shoal_activations_total{{namespace="{ns}",kind="nodejs:20",status="success"}}"#
            ),
        )
        .unwrap_or_else(|| panic!("no activations of {ns} in\n{text}"))
    };
    assert_eq!(
        activations("guest"),
        4.0,
        "three invokes and one web request"
    );
    assert!(activations("slow") >= 1.0);
    assert!(
        sample(
            &text,
            r#"shoal_activation_init_seconds_count{kind="nodejs:20"}"#
        )
        .unwrap()
            >= 2.0,
        "each namespace's first run is cold"
    );
    assert_eq!(
        sample(
            &text,
            r#"shoal_throttled_total{namespace="slow",limit="invocations_per_minute"}"#
        ),
        Some(refused as f64)
    );
    assert!(sample(&text, "shoal_activation_commit_wait_seconds_count").unwrap() >= 3.0);
    assert_eq!(
        sample(
            &text,
            r#"shoal_http_requests_total{route="/api/v1/namespaces/{namespace}/actions/{actionName}",status="200"}"#
        ),
        Some(2.0 + 3.0 + (3 - refused) as f64),
        "two PUTs, three invokes and slow's admitted ones"
    );
    assert_eq!(
        sample(
            &text,
            r#"shoal_http_requests_total{route="/api/v1/web/{namespace}/{packageName}/{actionName}",status="200"}"#
        ),
        Some(1.0)
    );
    assert!(sample(&text, r#"shoal_resident_instances{engine="quickjs"}"#).unwrap() >= 1.0);
    assert!(sample(&text, r#"shoal_cold_starts_total{engine="quickjs"}"#).unwrap() >= 2.0);
    assert!(sample(&text, "shoal_activation_log_records_total").is_some());
    assert!(sample(&text, "shoal_memory_budget_bytes").unwrap() > 0.0);
    assert!(text.ends_with("# EOF\n"));
}

/// The scrape names every namespace with its activity: an action cannot read it through its
/// own API host (answered in-process), however it spells the path.
#[test]
fn actions_cannot_read_the_metrics() {
    let dir = tempfile::tempdir().unwrap();
    let shoal = Shoal::serve(dir.path());
    let addr = shoal.addr.clone();
    let code = "async function main() {
        const host = process.env.__OW_API_HOST;
        const status = async (path) => (await fetch(host + path)).status;
        return {plain: await status('/metrics'), dotted: await status('/api/../metrics'),
                health: await status('/health')};
    }";
    let put = request(
        &addr,
        "PUT",
        "/api/v1/namespaces/_/actions/peek",
        Some(support::GUEST_AUTH),
        Some(&json!({"exec": {"kind": "nodejs:20", "code": code}})),
    );
    assert_eq!(put.status, 200, "{}", put.text());
    let run = request(
        &addr,
        "POST",
        "/api/v1/namespaces/_/actions/peek?blocking=true&result=true",
        Some(support::GUEST_AUTH),
        None,
    );
    assert_eq!(run.status, 200, "{}", run.text());
    assert_eq!(
        run.json(),
        json!({"plain": 404, "dotted": 404, "health": 200})
    );
    assert_eq!(request(&addr, "GET", "/metrics", None, None).status, 200);
}

#[test]
fn a_token_closes_the_endpoint_and_it_can_be_turned_off() {
    let dir = tempfile::tempdir().unwrap();
    let shoal = Shoal::serve_with(dir.path(), "[metrics]\ntoken = \"s3cret\"\n");
    let addr = shoal.addr.clone();
    assert_eq!(request(&addr, "GET", "/metrics", None, None).status, 401);
    assert_eq!(
        get_with_authorization(&addr, "/metrics", "Bearer wrong").status,
        401
    );
    assert_eq!(
        get_with_authorization(&addr, "/metrics", "s3cret").status,
        401
    );
    let ok = get_with_authorization(&addr, "/metrics", "Bearer s3cret");
    assert_eq!(ok.status, 200, "{}", ok.text());
    drop(shoal);

    let off = tempfile::tempdir().unwrap();
    let shoal = Shoal::serve_with(off.path(), "[metrics]\nenabled = false\n");
    assert_eq!(
        request(&shoal.addr, "GET", "/metrics", None, None).status,
        404
    );
}

#[test]
fn json_log_lines_carry_the_transaction_id() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("test-config.toml");
    std::fs::write(&config, "").unwrap();
    let mut cmd = support::shoal_command();
    cmd.args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path())
        .arg("--config")
        .arg(&config)
        .env("SHOAL_LOG", "shoal=info")
        .env("SHOAL_LOG_FORMAT", "json");
    let shoal = Shoal::start(cmd);
    let r = request(
        &shoal.addr,
        "GET",
        "/api/v1/namespaces/_/actions",
        Some(support::GUEST_AUTH),
        None,
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let tid = r.header("x-request-id").unwrap().to_string();
    // shoal writes the line before it answers; the test reads stderr on a thread of its own,
    // so it waits for that thread to get there.
    let ours = |lines: &[String]| {
        lines
            .iter()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .find(|v| v["fields"]["message"] == "answered" && v["span"]["tid"] == tid.as_str())
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    let ours = loop {
        let lines = shoal.stderr.lock().unwrap().clone();
        if let Some(line) = ours(&lines) {
            break line;
        }
        assert!(
            Instant::now() < deadline,
            "no JSON line for {tid} in {lines:#?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(
        ours["fields"]["route"],
        "/api/v1/namespaces/{namespace}/actions"
    );
    assert_eq!(ours["fields"]["status"], 200);
    assert_eq!(ours["level"], "INFO");
}
