//! Every subcommand, run as the built binary: exit codes, what it prints, what it writes.

use crate::common;

use std::path::Path;

use crate::common::mitbadak;

fn png_size(path: &Path) -> (u32, u32) {
    let image = image::open(path).unwrap_or_else(|e| panic!("{} does not decode: {e}", path.display()));
    (image.width(), image.height())
}

fn path_str(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// A short training run shared by the tests that need a model file.
fn trained_model(dir: &Path) -> std::path::PathBuf {
    let out = dir.join("run");
    let run = mitbadak(&["train", "--iters", "300", "--out", path_str(&out)]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    out.join("model.safetensors")
}

#[test]
fn train_prints_the_seeds_lines_and_writes_model_metrics_and_plots() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let run =
        mitbadak(&["train", "--iters", "30", "--batch-size", "50", "--seed", "3", "--out", path_str(&out)]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(
        lines[0],
        "TwoLayerNet 784-50-10 (ReLU), SGD lr 0.1, batch 50, 30 iterations (1200 per epoch), seed 3"
    );
    // evaluated after the first step (i % iter_per_epoch == 0) and after the last
    let accuracy_lines: Vec<&&str> =
        lines.iter().filter(|l| l.starts_with("train acc, test acc | 0.")).collect();
    assert_eq!(accuracy_lines.len(), 2, "{}", run.stdout);
    assert!(lines.iter().any(|l| l.starts_with("test accuracy 0.") && l.contains("after 30 iterations in")));
    assert!(run.stdout.contains(&format!("to {}", out.display())));

    let csv = std::fs::read_to_string(out.join("metrics.csv")).unwrap();
    let rows: Vec<&str> = csv.lines().collect();
    assert_eq!(rows[0], "iteration,loss,epoch,train_acc,test_acc");
    assert_eq!(rows.len(), 31);
    assert!(
        rows[1].starts_with("1,2.") && rows[1].split(',').nth(3).unwrap().starts_with("0."),
        "{}",
        rows[1]
    );
    assert!(rows[2].ends_with(",,,"));
    assert_eq!(png_size(&out.join("accuracy.png")), (800, 600));
    assert_eq!(png_size(&out.join("loss.png")), (800, 600));
    let metadata = mitbadak::model_file::read_metadata(&out.join("model.safetensors")).unwrap();
    assert_eq!(metadata["iterations"], "30");
}

#[test]
fn train_takes_another_data_set_and_network_by_flags() {
    let dir = tempfile::tempdir().unwrap();
    common::write_dataset(&dir.path().join("data"), 4, 5, 3, 60, 30);
    let out = dir.path().join("run");
    let data = dir.path().join("data");
    let run = mitbadak(&[
        "train",
        "--data-dir",
        path_str(&data),
        "--arch",
        "mlp",
        "--hidden",
        "8,6",
        "--activation",
        "sigmoid",
        "--epochs",
        "2",
        "--batch-size",
        "10",
        "--lr",
        "0.5",
        "--out",
        path_str(&out),
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.starts_with("MultiLayerNet 20-8-6-3 (sigmoid, softmax with cross-entropy), SGD lr 0.5, batch 10, 12 iterations (6 per epoch)"), "{}", run.stdout);
    assert!(run.stdout.contains("60 training and 30 test images of 4x5, 3 classes"), "{}", run.stdout);
    let eval = mitbadak(&[
        "eval",
        "--model",
        path_str(&out.join("model.safetensors")),
        "--data-dir",
        path_str(&data),
        "--train",
    ]);
    assert_eq!(eval.code, 0, "{}", eval.stderr);
    assert!(
        eval.stdout.contains("test accuracy: ") && eval.stdout.contains("train accuracy: "),
        "{}",
        eval.stdout
    );
}

#[test]
fn eval_predict_show_work_on_a_trained_model() {
    let dir = tempfile::tempdir().unwrap();
    let model = trained_model(dir.path());
    let model = path_str(&model);

    let eval = mitbadak(&["eval", "--model", model]);
    assert_eq!(eval.code, 0, "{}", eval.stderr);
    let accuracy: f64 =
        eval.stdout.lines().find_map(|l| l.strip_prefix("test accuracy: ")).unwrap().parse().unwrap();
    assert!(accuracy > 0.85, "300 steps reach well above chance: {accuracy}");

    let predict = mitbadak(&["predict", "--model", model, "--index", "0"]);
    assert_eq!(predict.code, 0, "{}", predict.stderr);
    let lines: Vec<&str> = predict.stdout.lines().collect();
    assert_eq!(lines[0], "Test image 0 (label 7)");
    assert_eq!(lines[1], "predicted: 7");
    assert_eq!(lines.len(), 5, "the top three classes: {}", predict.stdout);
    let probabilities: Vec<f64> =
        lines[2..].iter().map(|l| l.split_whitespace().nth(1).unwrap().parse().unwrap()).collect();
    assert!(probabilities.windows(2).all(|w| w[0] >= w[1]) && probabilities[0] > 0.5, "{probabilities:?}");

    let png = dir.path().join("seven.png");
    // the test set by default, as for `predict --index`
    let show = mitbadak(&["show", "--index", "0", "--out", path_str(&png)]);
    assert_eq!(show.code, 0, "{}", show.stderr);
    assert!(show.stdout.starts_with("label: 7\nshape: (784,) reshaped to (28, 28)\n"), "{}", show.stdout);
    assert_eq!(show.stdout.lines().count(), 2 + 28 + 1);
    assert!(show.stdout.contains('█'));
    assert_eq!(png_size(&png), (280, 280));
    let jpeg = dir.path().join("seven.jpg");
    assert_eq!(mitbadak(&["show", "--index", "0", "--out", path_str(&jpeg)]).code, 0);
    assert_eq!(image::ImageFormat::from_path(&jpeg).unwrap(), image::ImageFormat::Jpeg);
    assert_eq!(image::guess_format(&std::fs::read(&jpeg).unwrap()).unwrap(), image::ImageFormat::Jpeg);

    // a sheet of grey paper has no digit: said so, and no class
    let paper = dir.path().join("grey.png");
    image::GrayImage::from_pixel(200, 150, image::Luma([215])).save(&paper).unwrap();
    let blank = mitbadak(&["predict", "--model", model, path_str(&paper)]);
    assert_eq!(blank.code, 1, "{}", blank.stdout);
    assert!(blank.stderr.contains("no digit found in "), "{}", blank.stderr);
    assert!(!blank.stdout.contains("predicted"), "{}", blank.stdout);

    let from_png = mitbadak(&["predict", "--model", model, path_str(&png)]);
    assert_eq!(from_png.code, 0, "{}", from_png.stderr);
    assert!(
        from_png.stdout.contains("(280x280): its box scaled to 20x20 and centred by mass in 28x28"),
        "{}",
        from_png.stdout
    );
    assert!(from_png.stdout.contains("predicted: 7"), "{}", from_png.stdout);

    // the same digit dark on light, as it would be drawn on paper: inverted first
    let mut paper = image::open(&png).unwrap().to_luma8();
    image::imageops::invert(&mut paper);
    let paper_path = dir.path().join("paper.png");
    paper.save(&paper_path).unwrap();
    let from_paper = mitbadak(&["predict", "--model", model, path_str(&paper_path)]);
    assert!(from_paper.stdout.contains("inverted to a white digit on black"), "{}", from_paper.stdout);
    assert!(from_paper.stdout.contains("predicted: 7"), "{}", from_paper.stdout);
}

#[test]
fn gradcheck_prints_each_parameters_difference_and_agrees() {
    let run = mitbadak(&["gradcheck"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    for name in ["W1:", "b1:", "W2:", "b2:"] {
        let line = run
            .stdout
            .lines()
            .find(|l| l.starts_with(name))
            .unwrap_or_else(|| panic!("{name} in {}", run.stdout));
        let mean: f64 = line[name.len()..].split_whitespace().next().unwrap().parse().unwrap();
        assert!(mean < 1e-9, "{line}");
    }
    assert!(run.stdout.contains("backpropagation agrees: max relative error"));
}

#[test]
fn the_chapter_3_reference_weights_evaluate_to_0_9352_from_the_command_line() {
    let path = common::reference_file("ch03_sample_weight.safetensors");
    let run = mitbadak(&[
        "eval",
        "--model",
        path_str(&path),
        "--arch",
        "mlp",
        "--hidden",
        "50,100",
        "--activation",
        "sigmoid",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.contains("MultiLayerNet 784-50-100-10 (sigmoid, softmax with cross-entropy)"));
    assert!(run.stdout.contains("test accuracy: 0.9352"), "{}", run.stdout);
    let bare = mitbadak(&["eval", "--model", path_str(&path)]);
    assert_eq!(bare.code, 1);
    assert!(bare.stderr.contains("does not say which network its weights belong to"), "{}", bare.stderr);
}

fn assert_fails(args: &[&str], code: i32, expected: &str) {
    let run = mitbadak(args);
    assert_eq!(run.code, code, "{args:?}: {}{}", run.stdout, run.stderr);
    assert!(run.stderr.contains(expected), "{args:?}: expected {expected:?} in {}", run.stderr);
}

#[test]
fn bad_flags_are_clear_errors() {
    assert_fails(&["train", "--lr", "0"], 1, "--lr must be a positive number, got 0; the book uses 0.1");
    assert_fails(&["train", "--lr", "-0.1"], 1, "--lr must be a positive number, got -0.1");
    assert_fails(&["train", "--weight-decay", "-1"], 1, "invalid weight decay: -1 is not a number >= 0");
    assert_fails(&["show", "--index", "-1"], 2, "images are counted from 0, got -1");
    assert_fails(&["predict", "--model", "x.safetensors", "--index", "-1"], 2, "images are counted from 0");
    assert_fails(&["train", "--epochs", "0"], 1, "--epochs must be at least 1");
    assert_fails(
        &["predict", "--model", "x.safetensors", "--index", "0", "--top", "0"],
        1,
        "--top must be at least 1",
    );
    assert_fails(&["show", "--index", "0", "--out", "seven.gif"], 1, "write a .png or a .jpg");
    assert_fails(&["train", "--lr=-0.5"], 1, "--lr must be a positive number, got -0.5");
    assert_fails(
        &["train", "--batch-size", "0"],
        1,
        "invalid batch size: 0 is not between 1 and the 60000 training images",
    );
    assert_fails(
        &["train", "--batch-size", "60001"],
        1,
        "invalid batch size: 60001 is not between 1 and the 60000 training images",
    );
    assert_fails(&["train", "--arch", "resnet"], 2, "invalid value 'resnet' for '--arch <ARCH>'");
    assert_fails(
        &["train", "--arch", "two-layer", "--hidden", "50,50"],
        1,
        "--hidden: two-layer has one hidden layer",
    );
    assert_fails(
        &["eval", "--model", "x.safetensors", "--hidden", "10"],
        1,
        "describe a network: name it with --arch",
    );
    assert_fails(&["train", "--activation", "sigmoid"], 1, "--activation sigmoid is for --arch mlp");
    assert_fails(&["train", "--hidden", "50,50"], 1, "--hidden: two-layer has one hidden layer");
    assert_fails(
        &["train", "--arch", "mlp", "--dropout", "1.5"],
        1,
        "--dropout has to be in [0, 1), got 1.5",
    );
    assert_fails(
        &["train", "--arch", "two-layer", "--batch-norm"],
        1,
        "--batch-norm is for --arch mlp or deep-convnet",
    );
    assert_fails(
        &["train", "--init=-1"],
        2,
        "expected a standard deviation > 0 (the book's 0.01), xavier or he",
    );
    assert_fails(&["train", "--weight-decay=-0.1"], 1, "invalid weight decay: -0.1 is not a number >= 0");
    assert_fails(
        &["train", "--optimizer", "lbfgs"],
        2,
        "invalid value 'lbfgs' for '--optimizer <OPTIMIZER>'",
    );
    assert_fails(&["train", "--iters", "10", "--epochs", "1"], 2, "cannot be used with");
    assert_fails(&["predict", "--model", "x.safetensors"], 2, "required");
}

#[test]
fn bad_files_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    common::write_dataset(&data, 28, 28, 10, 20, 10);
    std::fs::write(data.join("train-images-idx3-ubyte.gz"), b"\x1f\x8b garbage").unwrap();
    assert_fails(&["train", "--data-dir", path_str(&data)], 1, "train-images-idx3-ubyte.gz: bad gzip stream");
    assert_fails(&["train", "--data-dir", path_str(dir.path())], 1, "missing train-images-idx3-ubyte");
    assert_fails(
        &["eval", "--model", path_str(&dir.path().join("nothing.safetensors"))],
        1,
        "nothing.safetensors: No such file",
    );

    let model = trained_model(dir.path());
    assert_fails(
        &["eval", "--model", path_str(&model), "--arch", "mlp"],
        1,
        "tensor W1 has shape (784, 50), but MultiLayerNet 784-100-100-100-100-10 (ReLU, softmax with cross-entropy) needs (784, 100)",
    );
    let text = dir.path().join("digit.png");
    std::fs::write(&text, "this is text").unwrap();
    assert_fails(
        &["predict", "--model", path_str(&model), path_str(&text)],
        1,
        "digit.png: not a picture that can be read",
    );
    assert_fails(
        &["predict", "--model", path_str(&model), "--index", "10000"],
        1,
        "--index 10000 is past the end: the Test set has images 0 to 9999",
    );
    assert_fails(&["show", "--index", "60000"], 1, "--index 60000 is past the end");
}

#[test]
fn train_widens_its_default_two_layer_net_by_hidden_alone() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let run = mitbadak(&["train", "--hidden", "20", "--iters", "5", "--out", path_str(&out)]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.starts_with("TwoLayerNet 784-20-10 (ReLU), SGD lr 0.1"), "{}", run.stdout);
}

#[test]
fn help_says_where_each_command_s_network_comes_from() {
    for command in ["eval", "predict", "serve", "train"] {
        let help = mitbadak(&[command, "--help"]).stdout.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(
            help.contains("[train: two-layer; eval, predict, serve: the one the model file names"),
            "{command}: {help}"
        );
    }
}

#[test]
fn train_takes_the_book_s_chapter_6_options() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let run = mitbadak(&[
        "train",
        "--arch",
        "mlp",
        "--hidden",
        "40,30",
        "--batch-norm",
        "--dropout",
        "0.15",
        "--optimizer",
        "adam",
        "--init",
        "he",
        "--weight-decay",
        "0.01",
        "--schedule",
        "cosine",
        "--epochs",
        "1",
        "--out",
        path_str(&out),
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.starts_with("MultiLayerNet 784-40-30-10 (ReLU, batch norm, dropout 0.15, softmax with cross-entropy), Adam lr 0.001, cosine schedule, weight decay 0.01, batch 100, 600 iterations"), "{}", run.stdout);
    let accuracy: f64 =
        run.stdout.lines().find_map(|l| l.strip_prefix("test accuracy ")).unwrap()[..6].parse().unwrap();
    assert!(accuracy > 0.9, "one epoch of Adam reaches well above chance: {accuracy}");
    assert!(!out.join("checkpoint.safetensors").exists(), "a finished run removes its checkpoint");
    let eval = mitbadak(&["eval", "--model", path_str(&out.join("model.safetensors"))]);
    assert!(eval.stdout.contains(&format!("test accuracy: {accuracy:.4}")), "{} vs {accuracy}", eval.stdout);
}

#[test]
fn the_book_s_convnet_weights_evaluate_to_the_book_s_figures_from_the_command_line() {
    let ch07 = common::reference_file("ch07_simple_convnet.safetensors");
    let run = mitbadak(&["eval", "--model", path_str(&ch07), "--arch", "simple-convnet"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.contains("test accuracy: 0.9890"), "{}", run.stdout);
    let ch08 = common::reference_file("ch08_deep_convnet.safetensors");
    let run =
        mitbadak(&["eval", "--model", path_str(&ch08), "--arch", "deep-convnet", "--dropout-mode", "book"]);
    assert!(run.stdout.contains("test accuracy: 0.9935"), "{}{}", run.stdout, run.stderr);
}
