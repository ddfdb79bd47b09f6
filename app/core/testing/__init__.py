"""Running a project's tests: its interpreter, pytest in a process group, JUnit results."""
