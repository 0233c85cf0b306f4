import tests.faults.test_nul_characters as t


def test_broken_pipeline(hub, agency, caplog, monkeypatch):
    import hub.pipeline as p
    monkeypatch.setattr(p, "_nul_fields", lambda message: [])
    monkeypatch.setattr(p, "_nul_path", lambda value, path="": None)
    t.test_nul_characters_are_dead_lettered_and_the_queue_goes_on(hub, agency, caplog)


def test_broken_web(client, token, monkeypatch):
    import hub.web.api as api
    monkeypatch.setattr(api, "refuse_nul", lambda values: None)
    t.test_nul_in_a_query_or_path_value_is_a_400(client, token)
