from tests.api.projects.tenancy import isolated_project, made_instances, sdk  # noqa: F401  (fixtures)
