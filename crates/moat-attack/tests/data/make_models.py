"""Builds the ONNX models and arrays the moat-attack tests use.

Run from the repository root with numpy, scikit-learn, skl2onnx and onnx installed:

    python crates/moat-attack/tests/data/make_models.py

Every model has fixed seeds: rerunning gives the same models (solvers may differ in the last float bits).
"""

import os

import numpy as np
import onnx
from onnx import TensorProto, helper
from skl2onnx import to_onnx
from sklearn.datasets import load_digits, make_classification
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.neural_network import MLPClassifier

HERE = os.path.dirname(os.path.abspath(__file__))


def save(model, name):
    path = os.path.join(HERE, name)
    onnx.save(model, path)
    print("wrote", path, os.path.getsize(path), "bytes")


def npy(name, array):
    path = os.path.join(HERE, name)
    np.save(path, array)
    print("wrote", path, array.shape, array.dtype)


def linear(name, w, b):
    """softmax(x W + b) with plain ONNX operators and a symbolic batch size: its
    decision boundary is known exactly, so tests can check minimal distances."""
    d, k = w.shape
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", d])
    y = helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["N", k])
    nodes = [
        helper.make_node("MatMul", ["x", "W"], ["xw"]),
        helper.make_node("Add", ["xw", "b"], ["logits"]),
        helper.make_node("Softmax", ["logits"], ["probabilities"], axis=1),
    ]
    init = [
        helper.make_tensor("W", TensorProto.FLOAT, [d, k], w.astype(np.float32).ravel()),
        helper.make_tensor("b", TensorProto.FLOAT, [k], b.astype(np.float32)),
    ]
    graph = helper.make_graph(nodes, "linear", [x], [y], init)
    save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), name)


def convnet(name, rng):
    """A small convolutional classifier over [N, 1, 8, 8] images with fixed random
    weights: the image input path (NCHW) of the ONNX target."""
    x = helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", 1, 8, 8])
    y = helper.make_tensor_value_info("scores", TensorProto.FLOAT, ["N", 4])
    conv = rng.normal(0, 0.5, size=(3, 1, 3, 3)).astype(np.float32)
    dense = rng.normal(0, 0.3, size=(3 * 6 * 6, 4)).astype(np.float32)
    nodes = [
        helper.make_node("Conv", ["image", "K"], ["c"]),
        helper.make_node("Relu", ["c"], ["r"]),
        helper.make_node("Flatten", ["r"], ["f"], axis=1),
        helper.make_node("MatMul", ["f", "D"], ["logits"]),
        helper.make_node("Softmax", ["logits"], ["scores"], axis=1),
    ]
    init = [
        helper.make_tensor("K", TensorProto.FLOAT, list(conv.shape), conv.ravel()),
        helper.make_tensor("D", TensorProto.FLOAT, list(dense.shape), dense.ravel()),
    ]
    graph = helper.make_graph(nodes, "convnet", [x], [y], init)
    save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), name)


def tree_gte(name):
    """One ONNX TreeEnsembleClassifier tree that splits with BRANCH_GTE: class 2 when
    x[0] >= 0.5, else class 0 (scikit-learn exports only BRANCH_LEQ). Three classes, as
    runtimes treat two-class ensembles specially."""
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 2])
    label = helper.make_tensor_value_info("label", TensorProto.INT64, ["N"])
    probs = helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["N", 3])
    node = helper.make_node(
        "TreeEnsembleClassifier",
        ["x"],
        ["label", "probabilities"],
        domain="ai.onnx.ml",
        classlabels_int64s=[0, 1, 2],
        nodes_treeids=[0, 0, 0],
        nodes_nodeids=[0, 1, 2],
        nodes_featureids=[0, 0, 0],
        nodes_values=[0.5, 0.0, 0.0],
        nodes_modes=["BRANCH_GTE", "LEAF", "LEAF"],
        nodes_truenodeids=[1, 0, 0],
        nodes_falsenodeids=[2, 0, 0],
        class_treeids=[0, 0],
        class_nodeids=[1, 2],
        class_ids=[2, 0],
        class_weights=[1.0, 1.0],
        post_transform="NONE",
    )
    graph = helper.make_graph([node], "tree_gte", [x], [label, probs])
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", 15), helper.make_opsetid("ai.onnx.ml", 3)],
    )
    save(model, name)


def main():
    rng = np.random.default_rng(7)
    tree_gte("tree_gte.onnx")

    # A two-class linear model on [0, 1]^4 with its boundary through the middle.
    w = np.array([[1.5, -1.5], [-0.8, 0.8], [0.5, -0.5], [-1.2, 1.2]])
    b = np.array([0.0, 0.0]) - np.array([1.5 - 0.8 + 0.5 - 1.2, 0.0]) / 2
    linear("linear2.onnx", w, b)
    x = rng.uniform(0, 1, size=(40, 4)).astype(np.float32)
    npy("linear2_x.npy", x)

    # A three-class linear model on [0, 1]^6.
    w3 = rng.normal(0, 1.5, size=(6, 3))
    b3 = -0.5 * w3.sum(axis=0)
    linear("linear3.onnx", w3, b3)
    npy("linear3_x.npy", rng.uniform(0, 1, size=(30, 6)).astype(np.float32))

    convnet("convnet.onnx", rng)
    npy("convnet_x.npy", rng.uniform(0, 1, size=(12, 1, 8, 8)).astype(np.float32))

    # scikit-learn exports: the default ZipMap (seq(map)) probability output, plain
    # tensors, and tree ensembles.
    digits = load_digits()
    dx = (digits.data / 16.0).astype(np.float32)
    dy = digits.target.astype(np.int64)
    logreg = LogisticRegression(max_iter=500).fit(dx[:1200], dy[:1200])
    save(to_onnx(logreg, dx[:1], target_opset=15), "digits_logreg_zipmap.onnx")
    mlp = MLPClassifier(hidden_layer_sizes=(32,), max_iter=400, random_state=0).fit(
        dx[:1200], dy[:1200]
    )
    save(
        to_onnx(mlp, dx[:1], target_opset=15, options={id(mlp): {"zipmap": False}}),
        "digits_mlp.onnx",
    )
    npy("digits_x.npy", dx[1200:1260])
    npy("digits_y.npy", dy[1200:1260])

    tx, ty = make_classification(
        n_samples=800,
        n_features=8,
        n_informative=5,
        n_clusters_per_class=1,
        flip_y=0.25,
        random_state=3,
    )
    lo, hi = tx.min(axis=0), tx.max(axis=0)
    tx = ((tx - lo) / (hi - lo)).astype(np.float32)
    ty = ty.astype(np.int64)
    train_x, train_y, hold_x, hold_y = tx[:400], ty[:400], tx[400:], ty[400:]
    # Memorises its training set (label noise included): membership shows.
    overfit = RandomForestClassifier(n_estimators=40, random_state=0).fit(train_x, train_y)
    save(
        to_onnx(overfit, train_x[:1], target_opset=15, options={id(overfit): {"zipmap": False}}),
        "tab_rf_overfit.onnx",
    )
    # Strongly regularised: as sure of unseen rows as of its training rows.
    regular = LogisticRegression(C=0.05, max_iter=500).fit(train_x, train_y)
    save(to_onnx(regular, train_x[:1], target_opset=15), "tab_logreg_regular.onnx")
    npy("tab_train_x.npy", train_x)
    npy("tab_train_y.npy", train_y)
    npy("tab_holdout_x.npy", hold_x)
    npy("tab_holdout_y.npy", hold_y)


if __name__ == "__main__":
    main()
