//! Downloading MNIST, against a server on 127.0.0.1 (the tests need no internet): a good
//! mirror, a corrupt one, one that is down, and falling back from one to the next; and the
//! binary run where no data is, as an installed `mitbadak` is.
#![cfg(feature = "download")]

use crate::common;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::Command;

use mitbadak::data::Mnist;
use mitbadak::data::download::{Fetch, download_mnist};

/// Serves `GET /NAME` with `body(NAME)` (404 when `None`) on a fresh port; returns the base URL.
fn serve(body: fn(&str) -> Option<Vec<u8>>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/mnist/", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut request_line = String::new();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            reader.read_line(&mut request_line).unwrap();
            while reader.read_line(&mut String::new()).map(|n| n > 2).unwrap_or(false) {}
            let path = request_line.split_whitespace().nth(1).unwrap_or("/");
            let name = path.rsplit('/').next().unwrap_or("");
            let response = match body(name) {
                Some(bytes) => {
                    let mut r = format!(
                        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                        bytes.len()
                    )
                    .into_bytes();
                    r.extend(bytes);
                    r
                }
                None => b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_vec(),
            };
            let _ = stream.write_all(&response);
        }
    });
    url
}

fn real_file(name: &str) -> Option<Vec<u8>> {
    std::fs::read(common::mnist_dir().join(name)).ok()
}

fn corrupt_file(name: &str) -> Option<Vec<u8>> {
    let mut bytes = real_file(name)?;
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x55;
    Some(bytes)
}

fn other_content(_: &str) -> Option<Vec<u8>> {
    Some(common::gzip(b"this is not MNIST"))
}

fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|d| d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect())
        .unwrap_or_default();
    names.sort();
    names
}

#[test]
fn a_good_mirror_gives_the_four_checked_files() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("cache/mnist");
    let mut heard = Vec::new();
    download_mnist(&[serve(real_file)], &target, |fetch| heard.push(format!("{fetch:?}"))).unwrap();
    assert_eq!(
        files_in(&target),
        [
            "t10k-images-idx3-ubyte.gz",
            "t10k-labels-idx1-ubyte.gz",
            "train-images-idx3-ubyte.gz",
            "train-labels-idx1-ubyte.gz"
        ]
    );
    let started: Vec<&String> = heard.iter().filter(|h| h.starts_with("Started")).collect();
    assert_eq!(started.len(), 4, "{heard:?}");
    assert!(
        started[0].contains("train-images-idx3-ubyte.gz") && started[0].contains("Some(9719438)"),
        "{heard:?}"
    );
    assert_eq!(heard.iter().filter(|h| *h == "Finished").count(), 4);
    assert!(heard.contains(&"Received { received: 9719438 }".to_string()), "the bar reaches the whole file");
    let data = Mnist::load(&target).unwrap();
    assert_eq!((data.train.len(), data.test.len()), (60000, 10000));

    // a second download finds the files intact and fetches nothing
    let mut again = Vec::new();
    download_mnist(&[serve(|_| None)], &target, |fetch| again.push(format!("{fetch:?}"))).unwrap();
    assert!(again.is_empty(), "{again:?}");
}

#[test]
fn a_corrupt_file_is_rejected_and_nothing_is_left_behind() {
    let dir = tempfile::tempdir().unwrap();
    let message = download_mnist(&[serve(corrupt_file)], dir.path(), |_| {}).unwrap_err().to_string();
    assert!(message.contains("train-images-idx3-ubyte.gz"), "{message}");
    assert!(message.contains("not a gzip file") || message.contains("SHA-256"), "{message}");
    assert!(files_in(dir.path()).is_empty(), "left behind: {:?}", files_in(dir.path()));

    let message = download_mnist(&[serve(other_content)], dir.path(), |_| {}).unwrap_err().to_string();
    assert!(message.contains("SHA-256 of the content is"), "{message}");
    assert!(
        message.contains("expected ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db"),
        "{message}"
    );
    assert!(files_in(dir.path()).is_empty());
}

#[test]
fn a_server_that_is_down_is_an_error_naming_the_url() {
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port(); // closed again at once
    let dir = tempfile::tempdir().unwrap();
    let url = format!("http://127.0.0.1:{port}/mnist/");
    let message = download_mnist(std::slice::from_ref(&url), dir.path(), |_| {}).unwrap_err().to_string();
    assert!(message.contains(&format!("{url}train-images-idx3-ubyte.gz")), "{message}");
    assert!(message.contains("MITBADAK_MNIST_MIRROR"), "{message}");
    assert!(message.contains("--data-dir"), "{message}");
    assert!(files_in(dir.path()).is_empty());
}

#[test]
fn a_failing_mirror_falls_back_to_the_next() {
    let dir = tempfile::tempdir().unwrap();
    let missing = serve(|_| None);
    let mut failed = 0;
    download_mnist(&[missing, serve(real_file)], dir.path(), |fetch| {
        failed += matches!(fetch, Fetch::Failed { why, .. } if why.contains("404")) as usize
    })
    .unwrap();
    assert_eq!(files_in(dir.path()).len(), 4);
    assert_eq!(failed, 4, "each file's 404 is told");
}

/// `mitbadak ARGS` run in an empty folder, as an installed binary is run outside a checkout:
/// its cache in `home`, MNIST from `mirror`.
fn installed_mitbadak(home: &Path, mirror: &str, args: &[&str]) -> (Option<i32>, String, String) {
    let run = Command::new(env!("CARGO_BIN_EXE_mitbadak"))
        .args(args)
        .current_dir(home)
        .env("XDG_CACHE_HOME", home.join("cache"))
        .env("MITBADAK_MNIST_MIRROR", mirror)
        .env_remove("MITBADAK_DATA")
        .output()
        .unwrap();
    let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
    (run.status.code(), text(&run.stdout), text(&run.stderr))
}

#[test]
fn the_binary_outside_a_checkout_downloads_into_the_cache_once() {
    let home = tempfile::tempdir().unwrap();
    let (code, stdout, stderr) =
        installed_mitbadak(home.path(), &serve(real_file), &["show", "--index", "0"]);
    assert_eq!(code, Some(0), "{stderr}");
    let cache = home.path().join("cache/mitbadak/mnist");
    assert!(stderr.contains(&format!("downloading it into {}", cache.display())), "{stderr}");
    assert!(stdout.contains("label: 7"), "the first test image is a 7: {stdout}");
    assert_eq!(files_in(&cache).iter().filter(|f| f.ends_with(".gz")).count(), 4);

    // the next run reads the cache: the mirror is not asked again
    let (code, _, stderr) = installed_mitbadak(home.path(), "http://127.0.0.1:9/", &["show", "--index", "1"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(!stderr.contains("download"), "{stderr}");
}

#[test]
fn the_binary_offline_says_how_to_use_a_copy() {
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port(); // closed again at once
    let home = tempfile::tempdir().unwrap();
    let mirror = format!("http://127.0.0.1:{port}/mnist/");
    let (code, _, stderr) = installed_mitbadak(home.path(), &mirror, &["show", "--index", "0"]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    for words in ["could not download", "offline?", "--data-dir FOLDER", "MITBADAK_DATA", "data/mnist"] {
        assert!(stderr.contains(words), "{words:?} missing from: {stderr}");
    }
    assert!(files_in(&home.path().join("cache/mitbadak/mnist")).is_empty());
}
