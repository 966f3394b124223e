from __future__ import annotations

import pytest

from api.ml.presets import PARAM_NAMES, ParamError, resolve_params


def test_notebook_preset_has_the_notebooks_hyperparameters() -> None:
    params = resolve_params("notebook", {})
    assert params["learning_rate"] == 0.01
    assert params["n_estimators"] == 300
    assert params["max_depth"] == 5
    assert params["loss"] == "absolute_error"
    assert params["random_state"] is None
    assert params["log_target"] is False


def test_default_preset_is_reproducible() -> None:
    assert isinstance(resolve_params("default", {})["random_state"], int)


def test_overrides_replace_preset_values_and_keep_the_rest() -> None:
    params = resolve_params("notebook", {"n_estimators": 50, "learning_rate": 1})
    assert params["n_estimators"] == 50
    assert params["learning_rate"] == 1.0
    assert params["max_depth"] == 5
    assert set(params) == set(PARAM_NAMES)


def test_unknown_preset_lists_the_known_ones() -> None:
    with pytest.raises(ParamError, match="unknown preset 'fancy'; allowed: notebook, default"):
        resolve_params("fancy", {})


def test_unknown_parameter_names_list_the_allowed_ones() -> None:
    with pytest.raises(ParamError) as caught:
        resolve_params("default", {"n_trees": 5, "depth": 2})
    message = str(caught.value)
    assert message.startswith("unknown parameter(s) depth, n_trees; allowed: ")
    assert "n_estimators" in message and "learning_rate" in message


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("n_estimators", 0, "n_estimators must be between 1 and 5000, got 0"),
        ("n_estimators", 5001, "n_estimators must be between 1 and 5000, got 5001"),
        ("learning_rate", 0, "learning_rate must be in (0, 1], got 0"),
        ("learning_rate", 1.5, "learning_rate must be in (0, 1], got 1.5"),
        ("max_depth", 21, "max_depth must be between 1 and 20, got 21"),
        ("subsample", 0.0, "subsample must be in (0, 1], got 0.0"),
        ("min_samples_leaf", 0, "min_samples_leaf must be between 1 and 100000, got 0"),
        ("loss", "l2", "loss must be one of absolute_error, huber, quantile, squared_error"),
        ("alpha", 1.0, "alpha must be in (0, 1), got 1.0"),
        ("random_state", -1, "random_state must be between 0 and 4294967295, got -1"),
    ],
)
def test_out_of_range_values_are_refused_with_the_allowed_range(
    name: str, value: object, expected: str
) -> None:
    with pytest.raises(ParamError) as caught:
        resolve_params("default", {name: value})
    assert str(caught.value).startswith(expected)


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("n_estimators", 100.5, "n_estimators must be an integer, got 100.5"),
        ("n_estimators", True, "n_estimators must be an integer, got True"),
        ("learning_rate", "fast", "learning_rate must be a number, got 'fast'"),
        ("log_target", "yes", "log_target must be true or false, got 'yes'"),
    ],
)
def test_values_of_the_wrong_type_are_refused(name: str, value: object, expected: str) -> None:
    with pytest.raises(ParamError, match=expected.replace("(", r"\(")):
        resolve_params("default", {name: value})


def test_param_error_is_a_value_error_for_generic_handlers() -> None:
    assert issubclass(ParamError, ValueError)
