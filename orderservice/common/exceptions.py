"""Infrastructure exceptions shared by every app; plain Python, no HTTP."""


class DatabaseUnavailable(Exception):
    """The database did not complete the work within the retry budget.

    `wait` is the number of seconds a client should wait before retrying.
    """

    def __init__(self, wait: int = 1) -> None:
        super().__init__(f"database unavailable, retry in {wait}s")
        self.wait = wait
