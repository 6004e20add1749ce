//! `mitbadak serve` against hostile clients, as the built binary on 127.0.0.1: out of file
//! descriptors, slow heads and bodies, other hosts and content types, and 1000 hostile
//! requests at once, during which the server's memory stays bounded and normal requests are
//! answered.
#![cfg(target_os = "linux")]

use crate::common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// A model trained once for this test binary.
fn model() -> &'static Path {
    static MODEL: OnceLock<PathBuf> = OnceLock::new();
    MODEL.get_or_init(|| {
        let run = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("serve-limits-{}", std::process::id()));
        let trained = common::mitbadak(&["train", "--iters", "200", "--out", run.to_str().unwrap()]);
        assert_eq!(trained.code, 0, "{}", trained.stderr);
        run.join("model.safetensors")
    })
}

/// A server of the binary, killed when dropped.
struct Serve {
    child: Child,
    address: String,
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Serve {
    /// `mitbadak serve --model M --port 0 ARGS`, with at most `open_files` descriptors.
    fn start(args: &[&str], open_files: Option<u64>) -> Serve {
        let mut command = Command::new(env!("CARGO_BIN_EXE_mitbadak"));
        command
            .args(["serve", "--model", model().to_str().unwrap(), "--port", "0"])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some(limit) = open_files {
            // SAFETY: setrlimit(2) only, between fork and exec.
            unsafe {
                command.pre_exec(move || {
                    let rlimit = libc::rlimit { rlim_cur: limit, rlim_max: limit };
                    if libc::setrlimit(libc::RLIMIT_NOFILE, &rlimit) != 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                    Ok(())
                });
            }
        }
        let mut child = command.spawn().unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        while !line.contains("http://") {
            line.clear();
            assert!(stdout.read_line(&mut line).unwrap() > 0, "serve ended before it listened");
        }
        let address = line.split("http://").nth(1).unwrap().split('/').next().unwrap().to_string();
        // what it prints later goes nowhere
        std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
        Serve { child, address }
    }

    fn connect(&self) -> TcpStream {
        let stream = TcpStream::connect(&self.address).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        stream
    }

    /// Sends `request` whole on a new connection; the status and body of the answer.
    fn exchange(&self, request: &[u8]) -> (u16, String) {
        let mut stream = self.connect();
        stream.write_all(request).unwrap();
        read_answer(&mut stream)
    }

    /// `POST /api/predict` of 784 zeros, as the page's API takes them.
    fn normal_request(&self) -> (u16, String) {
        let body = serde_json::to_vec(&vec![0.0; 784]).unwrap();
        let head = format!(
            "POST /api/predict HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            self.address,
            body.len()
        );
        // a 503 says "try again in a moment" (the bodies in flight fill the budget): a client
        // that does, a few times 100 ms apart, must then be answered
        for _ in 0..20 {
            let (status, answer) = self.exchange(&[head.as_bytes(), &body].concat());
            if status != 503 {
                return (status, answer);
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        self.exchange(&[head.as_bytes(), &body].concat())
    }

    /// The server's peak resident memory so far, in MiB (VmHWM).
    fn peak_mib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
        line.split_whitespace().nth(1).unwrap().parse::<u64>().unwrap() >> 10
    }

    fn still_running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }
}

fn read_answer(stream: &mut TcpStream) -> (u16, String) {
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response);
    let text = String::from_utf8_lossy(&response).into_owned();
    let status = text.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    (status, text.split_once("\r\n\r\n").map(|(_, b)| b.to_string()).unwrap_or_default())
}

#[test]
fn running_out_of_file_descriptors_pauses_accepting_and_serving_goes_on() {
    let mut serve = Serve::start(&[], Some(64));
    // more connections than the server has descriptors for
    let idle: Vec<TcpStream> = (0..100).map(|_| serve.connect()).collect();
    std::thread::sleep(Duration::from_millis(500));
    assert!(serve.still_running(), "serve ended when accept ran out of descriptors");
    drop(idle);
    std::thread::sleep(Duration::from_millis(300));
    let (status, body) = serve.normal_request();
    assert_eq!(status, 200, "{body}");
    assert!(serve.still_running());
}

#[test]
fn slow_heads_and_bodies_are_cut_off_at_the_read_timeout() {
    let serve = Serve::start(&["--read-timeout", "1"], None);
    let started = Instant::now();
    // slowloris: a head that never ends
    let mut slow = serve.connect();
    slow.write_all(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-a: ").unwrap();
    // a body that promises 5000 bytes and sends 1570
    let mut short = serve.connect();
    let head = format!(
        "POST /api/predict HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: 5000\r\n\r\n",
        serve.address
    );
    short.write_all(&[head.as_bytes(), &[b' '; 1570]].concat()).unwrap();
    let (status, body) = read_answer(&mut short);
    assert_eq!(status, 408, "{body}");
    assert!(body.contains("the body did not arrive within 1 s"), "{body}");
    let mut rest = Vec::new();
    assert_eq!(slow.read_to_end(&mut rest).unwrap_or(0), 0, "the slow head got an answer");
    // an idle kept-alive connection is closed as well
    let mut idle = serve.connect();
    assert_eq!(idle.read_to_end(&mut rest).unwrap_or(0), 0);
    assert!(started.elapsed() < Duration::from_secs(8), "{:?}", started.elapsed());
}

#[test]
fn other_hosts_and_content_types_are_refused_and_no_local_path_is_told() {
    let serve = Serve::start(&[], None);
    let (status, body) =
        serve.exchange(b"GET /api/model HTTP/1.1\r\nHost: rebound.example:8080\r\nConnection: close\r\n\r\n");
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("does not answer for the host \\\"rebound.example:8080\\\""), "{body}");
    assert!(body.contains("--allow-host rebound.example"), "{body}");

    let head = format!("GET /api/model HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n", serve.address);
    let (status, body) = serve.exchange(head.as_bytes());
    assert_eq!(status, 200, "{body}");
    let info: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(info["file"], "model.safetensors");
    assert!(!body.contains(model().parent().unwrap().to_str().unwrap()), "{body}");

    let body = serde_json::to_vec(&vec![0.0; 784]).unwrap();
    let head = format!(
        "POST /api/predict HTTP/1.1\r\nHost: {}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        serve.address,
        body.len()
    );
    let (status, answer) = serve.exchange(&[head.as_bytes(), &body].concat());
    assert_eq!(status, 415, "{answer}");

    let allowed = Serve::start(&["--allow-host", "digits.lan"], None);
    let (status, body) =
        allowed.exchange(b"GET /api/model HTTP/1.1\r\nHost: digits.lan:8080\r\nConnection: close\r\n\r\n");
    assert_eq!(status, 200, "{body}");
}

#[test]
fn listening_beyond_loopback_is_warned_of() {
    let mut command = Command::new(env!("CARGO_BIN_EXE_mitbadak"));
    let mut child = command
        .args(["serve", "--model", model().to_str().unwrap(), "--port", "0", "--host", "0.0.0.0"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let (sender, first_line) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = stderr.read_line(&mut line);
        let _ = sender.send(line);
    });
    let line = first_line.recv_timeout(Duration::from_secs(30)).unwrap_or_default();
    let _ = child.kill();
    let _ = child.wait();
    assert!(line.starts_with("warning: listening on 0.0.0.0:"), "{line}");
    assert!(line.contains("beyond this machine: anyone who reaches it can use the model"), "{line}");
}

/// A PNG of `width` x `height` whose header is whole and whose pixels are missing: enough for a
/// server to see its size and depth.
fn png_head(width: u32, height: u32, bit_depth: u8, color_type: u8) -> Vec<u8> {
    let mut ihdr = b"IHDR".to_vec();
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[bit_depth, color_type, 0, 0, 0]);
    let mut crc = flate2::Crc::new();
    crc.update(&ihdr);
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png.extend_from_slice(&13u32.to_be_bytes());
    png.extend_from_slice(&ihdr);
    png.extend_from_slice(&crc.sum().to_be_bytes());
    png
}

/// A white 4096x3072 RGB photo with a dark stroke: 36 MiB once decoded.
fn large_photo() -> Vec<u8> {
    let mut photo = image::RgbImage::from_pixel(4096, 3072, image::Rgb([255, 255, 255]));
    for y in 1000..2000 {
        for x in 2000..2100 {
            photo.put_pixel(x, y, image::Rgb([0, 0, 0]));
        }
    }
    let mut png = Vec::new();
    photo.write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png).unwrap();
    png
}

/// 1000 hostile connections at once (idle ones, heads that never end, bodies that stall after
/// 100 KiB of 1 MiB, 4096x4096 16-bit RGBA PNGs, large photos), and normal requests during
/// them: each normal request is answered, and the server's peak memory stays under 300 MiB
/// (a server without limits took 5 GB from 24 such PNGs).
#[test]
fn a_thousand_hostile_requests_leave_memory_bounded_and_normal_requests_answered() {
    let mut serve = Serve::start(&["--read-timeout", "5"], None);
    let photo = large_photo();
    let address = serve.address.clone();
    let post_head = |content_type: &str, length: usize| {
        format!(
            "POST /api/predict HTTP/1.1\r\nHost: {address}\r\nContent-Type: {content_type}\r\nContent-Length: {length}\r\nConnection: close\r\n\r\n"
        )
    };
    let huge_png = png_head(4096, 4096, 16, 6);
    let started = Instant::now();
    let mut hostile: Vec<TcpStream> = Vec::new();
    let mut answers_expected = Vec::new();
    for k in 0..1000 {
        let mut stream = serve.connect();
        let sent = match k % 5 {
            0 => Ok(()),
            1 => stream.write_all(b"POST /api/predict HTTP/1.1\r\nHost: 127.0.0.1\r\nX-slow: "),
            2 => stream
                .write_all(&[post_head("image/png", 1 << 20).as_bytes(), &vec![0u8; 100 << 10]].concat()),
            3 => stream.write_all(&[post_head("image/png", huge_png.len()).as_bytes(), &huge_png].concat()),
            _ if k % 100 == 4 => {
                stream.write_all(&[post_head("image/png", photo.len()).as_bytes(), &photo].concat())
            }
            _ => stream.write_all(&[post_head("image/png", huge_png.len()).as_bytes(), &huge_png].concat()),
        };
        // the server may refuse a stalled body (503, past the budget) and close before it is sent
        drop(sent);
        if k % 5 >= 3 {
            answers_expected.push(hostile.len());
        }
        hostile.push(stream);
        if k % 100 == 99 {
            let (status, body) = serve.normal_request();
            assert_eq!(
                status,
                200,
                "a normal request during the attack, after {} hostile ones: {body}",
                k + 1
            );
        }
    }
    for _ in 0..5 {
        let (status, body) = serve.normal_request();
        assert_eq!(status, 200, "{body}");
    }
    // the pictures were each answered: the large ones refused, the photos read
    let mut statuses = std::collections::BTreeMap::new();
    for &k in &answers_expected {
        *statuses.entry(read_answer(&mut hostile[k]).0).or_insert(0) += 1;
    }
    let peak = serve.peak_mib();
    println!(
        "1000 hostile connections in {:.1} s; answers {statuses:?}; server peak {peak} MiB",
        started.elapsed().as_secs_f64()
    );
    // each picture is refused as too large (400), read (200), or, when the bodies in flight
    // fill the server's body budget, turned away to come back later (503): a few, by timing
    let count = |status: u16| statuses.get(&status).copied().unwrap_or(0);
    assert_eq!(count(400) + count(200) + count(503), answers_expected.len(), "{statuses:?}");
    assert!(count(400) <= 390 && count(200) <= 10 && count(503) <= 20, "{statuses:?}");
    assert!(count(400) >= 370 && count(200) >= 5, "{statuses:?}");
    assert!(peak < 300, "peak memory {peak} MiB");
    assert!(serve.still_running());
    drop(hostile);
}
