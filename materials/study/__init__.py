"""Study content: generation (hosted or offline), checks, review scheduling, quiz, exports."""
