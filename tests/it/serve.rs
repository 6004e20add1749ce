//! The server of `mitbadak serve`, on 127.0.0.1: the page's files, `GET /api/model`, `POST
//! /api/predict` against `mitbadak predict`, each bad request, and a bounded load test
//! (`cargo test --release --test serve -- --nocapture` prints its latencies).

use crate::common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use mitbadak::data::Mnist;
use mitbadak::serve::{MAX_BODY_BYTES, ServedModel, Server};
use serde_json::Value;

/// A model trained for this test binary, and a server answering with it.
struct Fixture {
    model: PathBuf,
    address: SocketAddr,
    work: PathBuf,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let work = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("serve-{}", std::process::id()));
        let run = work.join("run");
        let stdout = mitbadak(&["train", "--iters", "300", "--out", run.to_str().unwrap()]);
        assert!(stdout.contains("test accuracy 0."), "{stdout}");
        let model = run.join("model.safetensors");
        let server = Server::bind("127.0.0.1", 0, ServedModel::load(&model, None).unwrap()).unwrap();
        let address = server.address();
        std::thread::spawn(move || server.run().unwrap());
        Fixture { model, address, work }
    })
}

/// Runs the binary; its standard output, after checking it succeeded.
fn mitbadak(args: &[&str]) -> String {
    let run = common::mitbadak(args);
    assert_eq!(run.code, 0, "mitbadak {args:?}: {}", run.stderr);
    run.stdout
}

/// `mitbadak predict --top 10` of the fixture's model: the class, and each class's probability
/// as printed (4 decimals), by class.
fn predict_with_cli(args: &[&str]) -> (usize, Vec<String>) {
    let model = fixture().model.to_str().unwrap();
    let stdout = mitbadak(&[&["predict", "--model", model, "--top", "10"][..], args].concat());
    let class = stdout.lines().find_map(|l| l.strip_prefix("predicted: ")).unwrap().parse().unwrap();
    let mut printed = vec![String::new(); 10];
    for line in stdout.lines().filter(|l| l.starts_with("  ")) {
        let (k, p) = line.trim().split_once("  ").unwrap();
        printed[k.parse::<usize>().unwrap()] = p.to_string();
    }
    assert!(printed.iter().all(|p| p.len() == 6), "{stdout}");
    (class, printed)
}

/// An agent that hands back 4xx and 5xx answers instead of failing on them.
fn agent() -> ureq::Agent {
    ureq::Agent::config_builder().http_status_as_error(false).build().into()
}

fn url(path: &str) -> String {
    format!("http://{}{path}", fixture().address)
}

/// `POST /api/predict`: the status and the JSON answer.
fn post(agent: &ureq::Agent, content_type: &str, body: &[u8]) -> (u16, Value) {
    let mut response =
        agent.post(url("/api/predict")).header("Content-Type", content_type).send(body).unwrap();
    let status = response.status().as_u16();
    let json = serde_json::from_str(&response.body_mut().read_to_string().unwrap()).unwrap();
    (status, json)
}

/// The 280x280 PNG `mitbadak show` writes of an MNIST test image.
fn test_image_png(index: usize) -> Vec<u8> {
    let path = fixture().work.join(format!("test-{index}.png"));
    mitbadak(&["show", "--index", &index.to_string(), "--set", "test", "--out", path.to_str().unwrap()]);
    std::fs::read(path).unwrap()
}

fn probabilities(answer: &Value) -> Vec<f64> {
    answer["probabilities"].as_array().unwrap().iter().map(|p| p.as_f64().unwrap()).collect()
}

/// Checks an answer against what `mitbadak predict` printed.
fn assert_same_as_cli(answer: &Value, (class, printed): &(usize, Vec<String>)) {
    assert_eq!(answer["class"].as_u64(), Some(*class as u64), "{answer}");
    let probabilities = probabilities(answer);
    let sum: f64 = probabilities.iter().sum();
    assert!((sum - 1.0).abs() < 1e-5, "the probabilities sum to {sum}");
    // the server sends each f32 widened to f64, so rounding it gives predict's digits
    let shown: Vec<String> = probabilities.iter().map(|&p| format!("{:.4}", p as f32)).collect();
    assert_eq!(&shown, printed);
}

#[test]
fn get_model_describes_the_model_and_serves_its_curves() {
    let f = fixture();
    let agent = agent();
    let mut response = agent.get(url("/api/model")).call().unwrap();
    assert_eq!(response.status(), 200);
    let info: Value = serde_json::from_str(&response.body_mut().read_to_string().unwrap()).unwrap();
    assert_eq!(info["architecture"], "TwoLayerNet 784-50-10 (ReLU)");
    assert_eq!(info["input_shape"], serde_json::json!([784]));
    assert_eq!(info["classes"], 10);
    assert_eq!(info["file"], "model.safetensors", "the file's name, not where it is");
    assert_eq!(info["metadata"]["iterations"], "300");
    let metadata = mitbadak::model_file::read_metadata(&f.model).unwrap();
    let recorded: f64 = metadata["test_accuracy"].parse().unwrap();
    assert_eq!(info["test_accuracy"].as_f64(), Some(recorded));
    assert!(recorded > 0.8, "300 iterations reach 0.8: {recorded}");
    assert_eq!(
        info["curves"],
        serde_json::json!({"accuracy": "/api/model/accuracy.png", "loss": "/api/model/loss.png"})
    );
    for name in ["accuracy.png", "loss.png"] {
        let mut response = agent.get(url(&format!("/api/model/{name}"))).call().unwrap();
        assert_eq!(response.headers()["content-type"], "image/png");
        let bytes = response.body_mut().read_to_vec().unwrap();
        assert_eq!(bytes, std::fs::read(f.model.with_file_name(name)).unwrap(), "{name}");
    }
}

#[test]
fn the_page_is_served_whole_and_asks_nothing_of_the_internet() {
    let agent = agent();
    let mut texts = Vec::new();
    for (path, content_type) in
        [("/", "text/html"), ("/app.js", "text/javascript"), ("/style.css", "text/css")]
    {
        let mut response = agent.get(url(path)).call().unwrap();
        assert_eq!(response.status(), 200, "{path}");
        let served = response.headers()["content-type"].to_str().unwrap().to_string();
        assert!(served.starts_with(content_type), "{path}: {served}");
        texts.push(response.body_mut().read_to_string().unwrap());
    }
    assert!(texts[0].contains(r#"<canvas id="pad" width="280" height="280""#));
    assert!(texts[0].contains(r#"<script src="/app.js"></script>"#));
    for text in &texts {
        assert!(!text.contains("http://") && !text.contains("https://") && !text.contains("//cdn"));
    }
}

#[test]
fn a_png_body_is_read_as_mitbadak_predict_reads_it() {
    let agent = agent();
    for index in [0, 1, 2, 8] {
        let png = test_image_png(index);
        let png_path = fixture().work.join(format!("test-{index}.png"));
        let cli = predict_with_cli(&[png_path.to_str().unwrap()]);
        let (status, answer) = post(&agent, "image/png", &png);
        assert_eq!(status, 200, "{answer}");
        assert_same_as_cli(&answer, &cli);
        assert_eq!(
            answer["picture"],
            serde_json::json!({"width": 280, "height": 280, "inverted": false, "recentred": true, "blank": false})
        );
        assert_eq!(answer["input"].as_array().unwrap().len(), 784);
    }
}

#[test]
fn a_picture_without_a_digit_is_answered_without_a_class() {
    let mut png = Vec::new();
    image::GrayImage::from_pixel(280, 280, image::Luma([215]))
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .unwrap();
    let (status, answer) = post(&agent(), "image/png", &png);
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["class"], Value::Null);
    assert_eq!(answer["probabilities"], serde_json::json!([]));
    assert_eq!(answer["picture"]["blank"], true);
    assert!(answer["input"].as_array().unwrap().iter().all(|v| v == 0.0), "{answer}");
}

#[test]
fn an_array_of_784_values_is_read_as_the_mnist_image_it_is() {
    let mnist = Mnist::load(&common::mnist_dir()).unwrap();
    let pixels: Vec<f32> = mnist.test.image(0).iter().map(|&p| p as f32 / 255.0).collect();
    let (status, answer) = post(&agent(), "application/json", &serde_json::to_vec(&pixels).unwrap());
    assert_eq!(status, 200, "{answer}");
    assert_same_as_cli(&answer, &predict_with_cli(&["--index", "0"]));
    assert_eq!(answer["class"], 7);
    assert_eq!(answer["picture"], Value::Null);
    let echoed: Vec<f32> = serde_json::from_value(answer["input"].clone()).unwrap();
    assert_eq!(echoed, pixels);
}

/// Sends raw bytes and reads until the server closes: the status and the body.
fn raw_exchange(parts: &[&[u8]]) -> (u16, String) {
    let mut stream = TcpStream::connect(fixture().address).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    for part in parts {
        if stream.write_all(part).is_err() {
            break; // the server answered and closed before taking it all
        }
    }
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response); // a reset after the answer is the server's right
    let text = String::from_utf8_lossy(&response).into_owned();
    let status = text.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b.to_string()).unwrap_or_default();
    (status, body)
}

fn error_of(body: &str) -> String {
    let json: Value = serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body:?}"));
    json["error"].as_str().unwrap().to_string()
}

#[test]
fn each_bad_request_gets_a_4xx_saying_what_was_wrong_and_the_server_goes_on() {
    let agent = agent();
    let expect = |(status, answer): (u16, Value), want: u16, says: &str| {
        assert_eq!(status, want, "{answer}");
        let message = answer["error"].as_str().unwrap();
        assert!(message.contains(says), "{message:?} should say {says:?}");
    };
    expect(post(&agent, "application/json", b"[0.1, 0.2,"), 400, "the body is not valid JSON");
    expect(post(&agent, "application/json", br#"{"pixels": "no"}"#), 422, "not an array of numbers");
    expect(
        post(&agent, "application/json", &serde_json::to_vec(&[0.5; 10]).unwrap()),
        422,
        "expected 784 numbers (28x28 pixels row by row), got 10",
    );
    let mut values = vec![0.0; 784];
    values[300] = 255.0;
    expect(
        post(&agent, "application/json", &serde_json::to_vec(&values).unwrap()),
        422,
        "values outside [0, 1]: 1, the first at index 300 (255)",
    );
    expect(
        post(&agent, "image/png", b"\x89PNG\r\n\x1a\n and then nothing"),
        400,
        "the body is not a picture that can be read",
    );
    // a header that claims 8250x14368 pixels
    expect(
        post(&agent, "image/gif", b"GIF89a: 8 pixels? no, that many"),
        400,
        "the body is too large a picture (Memory limit exceeded): use one of at most 4096x4096 pixels \
         taking at most 48 MiB",
    );
    expect(post(&agent, "application/json", b""), 400, "the body is empty");

    // one byte over, sent whole (the server answers at the head and reads none of it)
    let head = format!(
        "POST /api/predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        MAX_BODY_BYTES + 1
    );
    let (status, body) = raw_exchange(&[head.as_bytes(), &vec![b'0'; MAX_BODY_BYTES + 1]]);
    assert_eq!(status, 413, "{body}");
    assert!(error_of(&body).contains("the body is 1048577 bytes, over the limit of 1048576 bytes"), "{body}");

    // a declared length over the limit is refused before the body is sent
    let head = b"POST /api/predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: image/png\r\nContent-Length: 1000000000\r\n\r\n";
    let (status, body) = raw_exchange(&[head]);
    assert_eq!(status, 413, "{body}");
    assert!(error_of(&body).contains("the body is 1000000000 bytes, over the limit"), "{body}");

    // a body without a length is cut off once it passes the limit
    let head = b"POST /api/predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n";
    let chunk = [format!("{:x}\r\n", 1 << 16).into_bytes(), vec![b' '; 1 << 16], b"\r\n".to_vec()].concat();
    let chunks = vec![chunk.as_slice(); MAX_BODY_BYTES / (1 << 16) + 1];
    let (status, body) = raw_exchange(&[&[head.as_slice()], chunks.as_slice()].concat());
    assert_eq!(status, 413, "{body}");
    assert!(error_of(&body).contains("the body is more than 1048576 bytes"), "{body}");

    let mut response = agent.get(url("/api/nothing")).call().unwrap();
    assert_eq!(response.status(), 404);
    assert!(error_of(&response.body_mut().read_to_string().unwrap()).contains("no route GET /api/nothing"));
    let mut response = agent.get(url("/api/predict")).call().unwrap();
    assert_eq!(response.status(), 405);
    assert_eq!(
        error_of(&response.body_mut().read_to_string().unwrap()),
        "/api/predict does not take GET: use POST"
    );

    // still serving
    let (status, answer) = post(&agent, "image/png", &test_image_png(0));
    assert_eq!(status, 200, "{answer}");
}

/// 2,000 requests of the page's kind (the 280x280 PNG of a digit) from 8 clients at once,
/// each on one kept-alive connection: none may fail.
#[test]
fn load_2000_png_requests_from_8_clients_without_an_error() {
    const CLIENTS: usize = 8;
    const REQUESTS: usize = 2_000;
    let png = test_image_png(3);
    let (expected, _) = {
        let path = fixture().work.join("test-3.png");
        predict_with_cli(&[path.to_str().unwrap()])
    };
    let started = Instant::now();
    let clients: Vec<_> = (0..CLIENTS)
        .map(|_| {
            let png = png.clone();
            std::thread::spawn(move || {
                let agent = agent();
                (0..REQUESTS / CLIENTS)
                    .map(|_| {
                        let sent = Instant::now();
                        let (status, answer) = post(&agent, "image/png", &png);
                        let ok = status == 200 && answer["class"].as_u64() == Some(expected as u64);
                        (ok, sent.elapsed())
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let results: Vec<(bool, Duration)> = clients.into_iter().flat_map(|c| c.join().unwrap()).collect();
    let elapsed = started.elapsed();
    let errors = results.iter().filter(|(ok, _)| !ok).count();
    let mut latencies: Vec<Duration> = results.iter().map(|(_, t)| *t).collect();
    latencies.sort();
    let percentile = |q: f64| latencies[((latencies.len() - 1) as f64 * q).round() as usize];
    println!(
        "load: {} requests from {CLIENTS} clients in {:.2} s ({:.0}/s), {errors} errors; latency p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        results.len(),
        elapsed.as_secs_f64(),
        results.len() as f64 / elapsed.as_secs_f64(),
        percentile(0.50).as_secs_f64() * 1e3,
        percentile(0.90).as_secs_f64() * 1e3,
        percentile(0.99).as_secs_f64() * 1e3,
        latencies.last().unwrap().as_secs_f64() * 1e3,
    );
    assert_eq!(results.len(), REQUESTS);
    assert_eq!(errors, 0);
}

/// `mitbadak serve ARGS` run in `dir`: the process, and what it printed up to the line
/// with the page's address (or until it ended).
fn start_serve(dir: &Path, args: &[&str]) -> (std::process::Child, String) {
    use std::io::BufRead;
    let mut child = Command::new(env!("CARGO_BIN_EXE_mitbadak"))
        .arg("serve")
        .args(args)
        .current_dir(dir)
        // a folder outside the checkout: the data is found as an installed binary finds a copy
        .env("MITBADAK_DATA", common::mnist_dir())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let (lines, printed) = std::sync::mpsc::channel();
    let stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    std::thread::spawn(move || {
        for line in stdout.lines().map_while(Result::ok) {
            let last = line.contains("http://");
            let _ = lines.send(line);
            if last {
                break;
            }
        }
    });
    let mut output = String::new();
    while let Ok(line) = printed.recv_timeout(Duration::from_secs(120)) {
        output += &line;
        output.push('\n');
    }
    (child, output)
}

fn address_in(printed: &str) -> String {
    let start = printed.find("http://").unwrap_or_else(|| panic!("no address in {printed:?}"));
    printed[start..].split_whitespace().next().unwrap().to_string()
}

#[test]
fn serve_without_a_model_trains_on_the_data_dir_it_is_given() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such-data");
    let run = Command::new(env!("CARGO_BIN_EXE_mitbadak"))
        .args(["serve", "--port", "0", "--data-dir", missing.to_str().unwrap()])
        .current_dir(dir.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("no-such-data"), "the error names the --data-dir: {stderr}");
}

#[test]
fn serve_without_a_model_trains_the_seeds_job_first_then_takes_the_newest() {
    let dir = tempfile::tempdir().unwrap();
    let (mut first, printed) = start_serve(dir.path(), &["--port", "0"]);
    first.kill().unwrap();
    first.wait().unwrap();
    assert!(
        printed.starts_with(
            "no --model, and no model under runs/: training the book's ch05/train_neuralnet.py job first (a few seconds)\n"
        ),
        "{printed}"
    );
    assert!(printed.contains("after 10000 iterations"), "{printed}");
    let trained = mitbadak::runs::newest_model(&dir.path().join("runs")).unwrap().expect("a model in runs/");
    let relative = trained.strip_prefix(dir.path()).unwrap().display().to_string();

    let (mut second, printed) = start_serve(dir.path(), &["--port", "0"]);
    let address = address_in(&printed);
    let info: Value = {
        let mut response = agent().get(format!("{address}api/model")).call().unwrap();
        serde_json::from_str(&response.body_mut().read_to_string().unwrap()).unwrap()
    };
    second.kill().unwrap();
    second.wait().unwrap();
    assert!(printed.starts_with(&format!("no --model: the newest under runs/ is {relative}\n")), "{printed}");
    assert!(printed.contains("(TwoLayerNet 784-50-10 (ReLU), test accuracy 0.9"), "{printed}");
    assert_eq!(info["file"], "model.safetensors", "the file's name, not where it is");
    assert_eq!(info["metadata"]["iterations"], "10000");
}

#[test]
fn serve_refuses_what_it_cannot_serve_and_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let fail = |args: &[&str], says: &str| {
        let (mut child, printed) = start_serve(dir.path(), args);
        let status = child.wait().unwrap();
        let mut stderr = String::new();
        child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
        assert_eq!(status.code(), Some(1), "{printed}{stderr}");
        assert!(stderr.contains(says), "{stderr:?} should say {says:?}");
    };
    fail(&["--model", "absent.safetensors", "--port", "0"], "absent.safetensors: No such file or directory");
    let small = dir.path().join("small");
    common::write_dataset(&small.join("data"), 4, 5, 3, 60, 30);
    let data = small.join("data");
    let out = small.to_str().unwrap();
    mitbadak(&[
        "train",
        "--data-dir",
        data.to_str().unwrap(),
        "--iters",
        "2",
        "--batch-size",
        "10",
        "--out",
        out,
    ]);
    fail(
        &["--model", small.join("model.safetensors").to_str().unwrap(), "--port", "0"],
        "TwoLayerNet 20-50-3 (ReLU) takes 20 values per input, but the page draws 28x28 = 784 pixels",
    );
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let model = fixture().model.to_str().unwrap();
    fail(&["--model", model, "--port", &port], "another program has the port: choose another with --port");
}
