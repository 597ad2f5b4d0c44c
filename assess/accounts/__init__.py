"""Who is who: users, passwords, sign-in and sessions (``users``), the enterprises they fill in for
(``enterprises``, with credit-code checks in ``uscc``), and who may see and change what
(``access``)."""
