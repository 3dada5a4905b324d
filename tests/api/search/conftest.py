from tests.api.tenancy.helpers import cleanup  # noqa: F401  (fixture)
