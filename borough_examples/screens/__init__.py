"""The screens of the sandbox apps the example bots drive (Caseflow on the web, the Tk
revenues client on the desktop), shared by the bots that use the same app."""
