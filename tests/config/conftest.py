from tests.config.support import write

__all__ = ["write"]
