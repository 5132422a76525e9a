#!/usr/bin/python3
"""Parity reference for bench/parity.ts: fits scikit-learn and XGBoost on the matrices the TS script wrote.

Usage: /usr/bin/python3 bench/parity.py <dir>
<dir> holds meta.json ({"cols", "rows": {"train", "valid", "test"}, "gbdt": {...}}), X_<part>.f32 (row-major
float32, NaN = missing) and y_<part>.u8. Prints one JSON object per model on stdout:
{"name", "auc", "fit_seconds", "trees"?}. Everything runs single-threaded; fit_seconds is CPU time.
"""
import json
import os
import sys
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402
from sklearn.metrics import roc_auc_score  # noqa: E402


def load(directory, part, rows, cols):
    X = np.fromfile(os.path.join(directory, f"X_{part}.f32"), dtype=np.float32).reshape(rows, cols)
    y = np.fromfile(os.path.join(directory, f"y_{part}.u8"), dtype=np.uint8)
    return X, y


def log_loss(y, raw):
    # mean log(1 + e^m) - y m, stable
    return float(np.mean(np.logaddexp(0.0, raw) - y * raw))


def report(name, auc, seconds, **extra):
    print(json.dumps({"name": name, "auc": auc, "fit_seconds": seconds, **extra}), flush=True)


def main():
    directory = sys.argv[1]
    with open(os.path.join(directory, "meta.json")) as f:
        meta = json.load(f)
    cols = meta["cols"]
    Xtr, ytr = load(directory, "train", meta["rows"]["train"], cols)
    Xva, yva = load(directory, "valid", meta["rows"]["valid"], cols)
    Xte, yte = load(directory, "test", meta["rows"]["test"], cols)
    g = meta["gbdt"]
    skip = set(meta.get("skip", []))

    if "sklearn-hgb" not in skip:
        from sklearn.ensemble import HistGradientBoostingClassifier

        # scikit-learn 1.2 cannot early-stop on an external validation set: fit all trees, then keep the
        # prefix with the best validation log loss with the same patience rule as ours.
        t = time.process_time()
        hgb = HistGradientBoostingClassifier(
            learning_rate=g["learningRate"],
            max_iter=g["nEstimators"],
            max_leaf_nodes=g["maxLeaves"],
            max_bins=g["maxBins"],
            l2_regularization=g["lambda"],
            min_samples_leaf=g["minSamplesLeaf"],
            early_stopping=False,
            random_state=0,
        ).fit(Xtr, ytr)
        seconds = time.process_time() - t
        best, best_loss, since = 0, float("inf"), 0
        for i, raw in enumerate(hgb.staged_decision_function(Xva)):
            loss = log_loss(yva, raw)
            if loss < best_loss - 1e-9:
                best, best_loss, since = i, loss, 0
            else:
                since += 1
                if since >= g["earlyStoppingRounds"]:
                    break
        raw_test = None
        for i, raw in enumerate(hgb.staged_decision_function(Xte)):
            if i == best:
                raw_test = raw
                break
        report("sklearn HistGradientBoosting", roc_auc_score(yte, raw_test), seconds, trees=best + 1,
               note="fits all trees; best prefix chosen on validation")

    if "xgboost" not in skip:
        try:
            import xgboost as xgb
        except ImportError:
            xgb = None
        if xgb is not None:
            rate = float(np.mean(ytr))
            # base_score = training skip rate, as ours and scikit-learn's start from the base log-odds;
            # XGBoost 1.7's default of 0.5 is also run, for information only.
            for label, base_score, informational in (
                ("XGBoost hist", rate, False),
                ("XGBoost hist, base_score 0.5", 0.5, True),
            ):
                t = time.process_time()
                dtr = xgb.DMatrix(Xtr, label=ytr, missing=np.nan, nthread=1)
                dva = xgb.DMatrix(Xva, label=yva, missing=np.nan, nthread=1)
                booster = xgb.train(
                    {
                        "objective": "binary:logistic",
                        "eval_metric": "logloss",
                        "tree_method": "hist",
                        "nthread": 1,
                        "eta": g["learningRate"],
                        "grow_policy": "lossguide",
                        "max_leaves": g["maxLeaves"],
                        "max_depth": 0,
                        "max_bin": g["maxBins"],
                        "lambda": g["lambda"],
                        "min_child_weight": g["minChildWeight"],
                        "base_score": base_score,
                        "seed": 0,
                    },
                    dtr,
                    num_boost_round=g["nEstimators"],
                    evals=[(dva, "valid")],
                    early_stopping_rounds=g["earlyStoppingRounds"],
                    verbose_eval=False,
                )
                seconds = time.process_time() - t
                dte = xgb.DMatrix(Xte, missing=np.nan, nthread=1)
                pred = booster.predict(dte, iteration_range=(0, booster.best_iteration + 1))
                extra = {"informational": True, "note": "default base_score; not in the parity check"} if informational else {}
                report(label, roc_auc_score(yte, pred), seconds, trees=booster.best_iteration + 1, **extra)

    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import LinearSVC

    if "sklearn-logistic" not in skip:
        t = time.process_time()
        lr = make_pipeline(SimpleImputer(strategy="mean"), StandardScaler(),
                           LogisticRegression(C=1.0, max_iter=1000)).fit(Xtr, ytr)
        seconds = time.process_time() - t
        report("sklearn LogisticRegression", roc_auc_score(yte, lr.decision_function(Xte)), seconds)

    if "sklearn-linearsvc" not in skip:
        # Both of liblinear's solvers: the dual (scikit-learn's default) and the primal Newton one (dual=False),
        # with the primal objective each reaches, ½‖(w, b)‖² + C Σ cᵢ max(0, 1 − yᵢ f(xᵢ))² (the intercept is
        # a regularised constant feature, intercept_scaling = 1, as in skipwise).
        for dual, label in ((True, "sklearn LinearSVC (balanced, dual)"), (False, "sklearn LinearSVC (balanced, primal)")):
            t = time.process_time()
            svc = make_pipeline(SimpleImputer(strategy="mean"), StandardScaler(),
                                LinearSVC(C=1.0, class_weight="balanced", dual=dual, max_iter=1000)).fit(Xtr, ytr)
            seconds = time.process_time() - t
            model = svc[-1]
            Z = svc[:-1].transform(Xtr)
            f = Z @ model.coef_.ravel() + model.intercept_[0]
            sign = np.where(ytr == 1, 1.0, -1.0)
            n1 = float(ytr.sum())
            cw = np.where(ytr == 1, len(ytr) / (2 * n1), len(ytr) / (2 * (len(ytr) - n1)))
            slack = np.maximum(0.0, 1 - sign * f)
            objective = 0.5 * (float(model.coef_.ravel() @ model.coef_.ravel()) + float(model.intercept_[0]) ** 2) \
                + float((cw * slack * slack).sum())
            report(label, roc_auc_score(yte, svc.decision_function(Xte)), seconds,
                   note=f"objective {objective:.6g}, {int(np.max(model.n_iter_))} iterations")


if __name__ == "__main__":
    main()
