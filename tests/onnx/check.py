"""`mitbadak export --format onnx`, proven in ONNX Runtime.

For every network mitbadak trains (the book's reference weights of chapters 3, 7 and 8, and
short trained TwoLayerNet, batch-norm + dropout MLP and batch-norm DeepConvNet runs), export it and check that
- `onnx.checker` (full check, with shape inference) accepts the file, opset 17 or newer,
  with the architecture and the test accuracy in its metadata_props;
- ONNX Runtime's probabilities equal `mitbadak predict --json`'s on MNIST test images
  (max difference <= 1e-5);
- ONNX Runtime's test accuracy over the 10,000 test images equals `mitbadak eval`'s.

Usage: python tests/onnx/check.py MITBADAK_BINARY WORK_DIR   (from the repository's root)
"""

import gzip
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort

MAX_DIFFERENCE = 1e-5
# test images compared one by one with `mitbadak predict`: the first few, and some further on
PREDICT_INDICES = [0, 1, 2, 3, 4, 1234, 5678, 9999]
DATA = Path("data/mnist")
REFERENCE = Path("data/reference")


def run(binary, *args):
    done = subprocess.run([binary, *args], capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"mitbadak {' '.join(args)} failed ({done.returncode}):\n{done.stderr}")
    return done.stdout


def idx(path):
    """An IDX file of MNIST (gzip): its array."""
    data = gzip.decompress(path.read_bytes())
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, np.uint8, offset=4 + 4 * ndim).reshape(dims)


def models(binary, work):
    """(name, model file, flags naming its network) for every network mitbadak trains."""
    two_layer = work / "two-layer"
    run(binary, "train", "--iters", "300", "--seed", "1", "--out", str(two_layer))
    mlp = work / "mlp-bn-dropout"
    run(binary, "train", "--arch", "mlp", "--hidden", "100,100", "--batch-norm", "--dropout", "0.15",
        "--optimizer", "adam", "--lr", "0.001", "--iters", "300", "--seed", "2", "--out", str(mlp))
    # batch normalisation per channel, and inverted dropout (nothing at test time)
    deep = work / "deep-convnet-bn"
    run(binary, "train", "--arch", "deep-convnet", "--batch-norm", "--iters", "30", "--seed", "3", "--out", str(deep))
    return [
        ("ch03 sigmoid MLP (the book's weights)", REFERENCE / "ch03_sample_weight.safetensors",
         ["--arch", "mlp", "--hidden", "50,100", "--activation", "sigmoid"]),
        ("TwoLayerNet (300 iterations)", two_layer / "model.safetensors", []),
        ("MLP, batch norm and inverted dropout (300 iterations)", mlp / "model.safetensors", []),
        ("ch07 SimpleConvNet (the book's weights)", REFERENCE / "ch07_simple_convnet.safetensors",
         ["--arch", "simple-convnet"]),
        ("ch08 DeepConvNet, the book's dropout (the book's weights)", REFERENCE / "ch08_deep_convnet.safetensors",
         ["--arch", "deep-convnet", "--dropout-mode", "book"]),
        ("DeepConvNet, batch norm and inverted dropout (30 iterations)", deep / "model.safetensors", []),
    ]


def check(binary, work, name, model, flags, images, labels):
    out = work / (model.parent.name + "-" + model.stem + ".onnx")
    run(binary, "export", "--model", str(model), "--format", "onnx", "--out", str(out), *flags)

    proto = onnx.load(str(out))
    onnx.checker.check_model(proto, full_check=True)
    opset = {o.domain: o.version for o in proto.opset_import}[""]
    assert opset >= 17, f"{name}: opset {opset}"
    metadata = {p.key: p.value for p in proto.metadata_props}
    architecture = json.loads(metadata["architecture"])
    accuracy_stated = float(metadata["test_accuracy"])

    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    shape = [d.dim_value for d in proto.graph.input[0].type.tensor_type.shape.dim[1:]]
    x = (images.astype(np.float32) / 255.0).reshape([len(images), *shape])
    probabilities = np.concatenate([session.run(None, {"x": x[i : i + 1000]})[0] for i in range(0, len(x), 1000)])

    worst = 0.0
    for index in PREDICT_INDICES:
        answer = json.loads(run(binary, "predict", "--model", str(model), "--index", str(index), "--json", *flags))
        difference = np.abs(np.array(answer["probabilities"], np.float32) - probabilities[index]).max()
        worst = max(worst, float(difference))
        assert answer["class"] == int(probabilities[index].argmax()), f"{name}: image {index}"
    assert worst <= MAX_DIFFERENCE, f"{name}: probabilities differ by {worst} (at most {MAX_DIFFERENCE})"

    accuracy = float((probabilities.argmax(axis=1) == labels).mean())
    printed = run(binary, "eval", "--model", str(model), *flags).splitlines()[-1]
    assert printed == f"test accuracy: {accuracy:.4f}", f"{name}: ONNX Runtime {accuracy}, mitbadak eval {printed!r}"
    assert accuracy == accuracy_stated, f"{name}: metadata says {accuracy_stated}, ONNX Runtime {accuracy}"
    nodes = " ".join(n.op_type for n in proto.graph.node)
    print(f"ok {name}: {architecture['arch']}, {len(proto.graph.node)} nodes ({nodes}); "
          f"max |p_onnx - p_predict| {worst:.1e} on {len(PREDICT_INDICES)} images; "
          f"test accuracy {accuracy:.4f} in both")


def main():
    binary, work = sys.argv[1], Path(sys.argv[2])
    # a scratch folder of its own, fresh each run: the runs it trains refuse to overwrite old ones
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    images = idx(DATA / "t10k-images-idx3-ubyte.gz")
    labels = idx(DATA / "t10k-labels-idx1-ubyte.gz")
    checked = models(binary, work)
    for name, model, flags in checked:
        check(binary, work, name, model, flags, images, labels)
    print(f"onnx: {len(checked)} passed, 0 failed")


if __name__ == "__main__":
    main()
