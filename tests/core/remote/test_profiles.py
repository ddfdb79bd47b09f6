"""Connection profiles: the settings migration, validation, and one API key per profile."""

from __future__ import annotations

import json
from collections.abc import Iterator

import keyring
import pytest
from keyring.backends import fail

from app.core.paths import AppPaths, app_paths
from app.core.remote.keys import SERVICE, SESSION_ONLY, KeyStore, profile_account
from app.core.remote.profiles import (
    KeyEdits,
    ProfileError,
    apply_key_edits,
    check_name,
    check_profiles,
    find_profile,
    key_for_server,
    profile_config,
)
from app.core.settings import (
    LOCAL_PROFILE,
    MIGRATED_PROFILE,
    SCHEMA_VERSION,
    ConnectionProfile,
    ConnectionSettings,
    Settings,
    load_settings,
    save_settings,
)

Keyring = dict[tuple[str, str], str]


@pytest.fixture
def paths() -> AppPaths:
    return app_paths()


def connections(*servers: ConnectionProfile, active: str = LOCAL_PROFILE) -> ConnectionSettings:
    return ConnectionSettings(
        profiles=[ConnectionProfile(name=LOCAL_PROFILE, backend="local"), *servers], active=active
    )


# -- the settings file -----------------------------------------------------------


def test_a_v1_file_with_a_server_in_use_becomes_an_active_profile(paths: AppPaths) -> None:
    v1 = {
        "schema_version": 1,
        "engine": {"threads": 3},
        "remote": {"backend": "remote", "base_url": "http://gpu:8000/v1", "model": "qwen3", "read_timeout": 30.0},
    }
    paths.settings_file.parent.mkdir(parents=True, exist_ok=True)
    paths.settings_file.write_text(json.dumps(v1), encoding="utf-8")
    loaded = load_settings(paths)
    assert loaded.notice is None
    settings = loaded.settings
    assert settings.schema_version == SCHEMA_VERSION == 2 and settings.engine.threads == 3  # the rest is kept
    assert [p.name for p in settings.connections.profiles] == [LOCAL_PROFILE, MIGRATED_PROFILE]
    server = settings.connections.current
    assert (server.name, server.backend, server.base_url, server.model, server.read_timeout) == (
        MIGRATED_PROFILE,
        "remote",
        "http://gpu:8000/v1",
        "qwen3",
        30.0,
    )
    save_settings(paths, settings)
    written = json.loads(paths.settings_file.read_text(encoding="utf-8"))
    assert written["schema_version"] == 2 and "remote" not in written
    assert load_settings(paths).settings == settings  # a v2 file reads back the same


def test_a_v1_file_with_a_server_not_in_use_keeps_this_computer_active(paths: AppPaths) -> None:
    paths.settings_file.parent.mkdir(parents=True, exist_ok=True)
    v1 = {"schema_version": 1, "remote": {"backend": "local", "base_url": "http://gpu:8000/v1"}}
    paths.settings_file.write_text(json.dumps(v1), encoding="utf-8")
    settings = load_settings(paths).settings
    assert settings.connections.active == LOCAL_PROFILE
    assert settings.connections.profile(MIGRATED_PROFILE) is not None


def test_a_v1_file_without_a_server_has_only_this_computer(paths: AppPaths) -> None:
    paths.settings_file.parent.mkdir(parents=True, exist_ok=True)
    paths.settings_file.write_text('{"schema_version": 1, "ui": {"theme": "dark"}}', encoding="utf-8")
    settings = load_settings(paths).settings
    assert settings.ui.theme == "dark"
    assert [(p.name, p.backend) for p in settings.connections.profiles] == [(LOCAL_PROFILE, "local")]
    assert settings.connections.active == LOCAL_PROFILE
    # The same for a v1 file with the default (empty) server section.
    paths.settings_file.write_text('{"schema_version": 1, "remote": {"backend": "local"}}', encoding="utf-8")
    assert [p.name for p in load_settings(paths).settings.connections.profiles] == [LOCAL_PROFILE]


def test_duplicate_names_in_a_file_are_refused_and_the_file_kept(paths: AppPaths) -> None:
    paths.settings_file.parent.mkdir(parents=True, exist_ok=True)
    twice = {"name": "Team", "base_url": "http://a:1/v1"}
    paths.settings_file.write_text(
        json.dumps({"schema_version": 2, "connections": {"profiles": [twice, {**twice, "name": " team "}]}}),
        encoding="utf-8",
    )
    loaded = load_settings(paths)
    assert loaded.notice is not None and "could not be read" in loaded.notice
    assert paths.settings_file.with_name("settings.json.broken").exists()
    assert loaded.settings.connections == ConnectionSettings()


def test_the_built_in_profile_always_exists_and_is_local() -> None:
    restored = ConnectionSettings(profiles=[ConnectionProfile(name="Team", base_url="http://a:1")], active="Team")
    assert [p.name for p in restored.profiles] == [LOCAL_PROFILE, "Team"] and restored.active == "Team"
    with pytest.raises(ValueError, match="always runs models on this computer"):
        ConnectionSettings(profiles=[ConnectionProfile(name=LOCAL_PROFILE, backend="remote")])
    stale = ConnectionSettings(active="Gone")  # a pointer to a deleted profile falls back
    assert stale.active == LOCAL_PROFILE
    with pytest.raises(ValueError):
        ConnectionProfile(name="   ")


# -- names and lookups -----------------------------------------------------------------


def test_profile_names_are_checked_with_one_sentence() -> None:
    assert check_name("  Team vLLM ", ["Ollama"]) == "Team vLLM"
    bad = {
        "": "needs a name",
        "x" * 61: "at most 60 characters",
        "tab\there": "control characters",
        "ollama": "already a connection profile named 'ollama'",
        "this computer": "already a connection profile named 'this computer'",
    }
    for name, message in bad.items():
        with pytest.raises(ProfileError, match=message) as caught:
            check_name(name, ["Ollama"])
        assert str(caught.value).count(".") >= 1 and "\n" not in str(caught.value)


def test_server_profiles_need_a_usable_address() -> None:
    check_profiles(connections(ConnectionProfile(name="Team", base_url="gpu:8000")))
    with pytest.raises(ProfileError, match="The profile 'Team' has no server address"):
        check_profiles(connections(ConnectionProfile(name="Team")))
    with pytest.raises(ProfileError, match=r"In the profile 'Team': .* must start with http"):
        check_profiles(connections(ConnectionProfile(name="Team", base_url="ftp://gpu")))
    check_profiles(connections(ConnectionProfile(name="Spare", backend="local")))  # no address needed


def test_an_unknown_profile_lists_the_saved_ones() -> None:
    saved = connections(ConnectionProfile(name="Team vLLM", base_url="http://a:1"))
    assert find_profile(saved, "team vllm").name == "Team vLLM"  # case does not matter
    with pytest.raises(ProfileError) as caught:
        find_profile(saved, "Ollama")
    assert str(caught.value) == (
        "There is no connection profile named 'Ollama'; the saved ones are: 'This computer', 'Team vLLM'."
    )


# -- keys per profile ----------------------------------------------------------------------


def test_each_profile_has_its_own_key_even_on_the_same_server(memory_keyring: Keyring) -> None:
    store = KeyStore()
    store.set_profile("Alice", "http://gpu:8000", "sk-alice")
    store.set_profile("Bob", "http://gpu:8000/v1", "sk-bob")
    assert memory_keyring == {
        (SERVICE, profile_account("Alice", "http://gpu:8000/v1")): "sk-alice",
        (SERVICE, profile_account("Bob", "http://gpu:8000/v1")): "sk-bob",
    }
    assert KeyStore().get_profile("Alice", "http://gpu:8000/v1") == "sk-alice"
    assert KeyStore().get_profile("Carol", "http://gpu:8000/v1") is None  # nobody else's key by accident
    config = profile_config(ConnectionProfile(name="Bob", base_url="http://gpu:8000", ca_file="/ca.pem"), store)
    assert (config.api_key, config.ca_file, config.base_url) == ("sk-bob", "/ca.pem", "http://gpu:8000/v1")
    assert "sk-bob" not in repr(config)


def test_renaming_moves_the_key_deleting_removes_it_and_a_new_address_drops_it(memory_keyring: Keyring) -> None:
    store = KeyStore()
    team = ConnectionProfile(name="Team", base_url="http://team:8000/v1")
    lab = ConnectionProfile(name="Lab", base_url="http://lab:8000/v1")
    box = ConnectionProfile(name="Box", base_url="http://box:11434/v1")
    before = connections(team, lab, box)
    for profile in (team, lab, box):
        store.set_profile(profile.name, profile.base_url, f"sk-{profile.name}")
    # Team renamed to "Team vLLM", Lab deleted, Box moved to another machine, a new one with a typed key.
    after = connections(
        team.model_copy(update={"name": "Team vLLM"}),
        box.model_copy(update={"base_url": "http://elsewhere:11434/v1"}),
        ConnectionProfile(name="Lab", base_url="http://lab:8000/v1"),  # a new profile reusing the old name
    )
    edits = KeyEdits(
        entered={"Lab": "sk-new-lab"},
        origins={LOCAL_PROFILE: LOCAL_PROFILE, "Team vLLM": "Team", "Box": "Box", "Lab": None},
    )
    assert apply_key_edits(store, before, after, edits) == []
    assert memory_keyring == {
        (SERVICE, profile_account("Team vLLM", "http://team:8000/v1")): "sk-Team",
        (SERVICE, profile_account("Lab", "http://lab:8000/v1")): "sk-new-lab",
    }
    # Without origins (no renames), deleting a profile removes its key.
    apply_key_edits(store, after, connections(after.profiles[1]), KeyEdits())
    assert memory_keyring == {(SERVICE, profile_account("Team vLLM", "http://team:8000/v1")): "sk-Team"}


def test_a_migrated_profile_takes_over_the_v1_key(memory_keyring: Keyring) -> None:
    store = KeyStore()
    store.set("http://gpu:8000/v1", "sk-v1")  # where version 1 kept it
    assert store.get_profile(MIGRATED_PROFILE, "http://gpu:8000") == "sk-v1"
    assert memory_keyring == {(SERVICE, profile_account(MIGRATED_PROFILE, "http://gpu:8000/v1")): "sk-v1"}
    # ``quillpad chat --server`` still finds it through the profile on that server.
    saved = connections(ConnectionProfile(name=MIGRATED_PROFILE, base_url="http://gpu:8000/v1"))
    assert key_for_server(saved, store, "http://gpu:8000") == "sk-v1"
    assert key_for_server(saved, store, "http://other:8000") is None


@pytest.fixture
def no_keyring() -> Iterator[None]:
    previous = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    yield
    keyring.set_keyring(previous)


def test_without_a_keyring_profile_keys_last_the_session(no_keyring: None, paths: AppPaths) -> None:
    store = KeyStore()
    before = connections(ConnectionProfile(name="Team", base_url="http://team:8000"))
    after = connections(ConnectionProfile(name="Team", base_url="http://team:8000"))
    assert apply_key_edits(store, before, after, KeyEdits(entered={"Team": "sk-session"})) == [SESSION_ONLY]
    assert store.get_profile("Team", "http://team:8000") == "sk-session"
    assert KeyStore().get_profile("Team", "http://team:8000") is None
    save_settings(paths, Settings(connections=after))
    assert "sk-session" not in paths.settings_file.read_text(encoding="utf-8")
