"""Workbench scenarios: labs that run against the providers named ``default``
and ``backup`` (in the demo and the browser tests, fake clouds)."""

_NS = 'xmlns:option="http://code.edx.org/xblock/option"'

SCENARIOS = [
    ("hastexo_lab: SSH lab", f"""
<hastexo_lab {_NS} display_name="SSH lab" stack_user_name="training" stack_template_path="lab.yaml">
  <option:providers>
    - name: default
      capacity: -1
  </option:providers>
  <html_demo><p>Log in and run <code>ceph status</code>.</p></html_demo>
</hastexo_lab>
"""),
    ("hastexo_lab: RDP lab", f"""
<hastexo_lab {_NS} display_name="Desktop lab" stack_user_name="training" stack_protocol="rdp"
             stack_template_path="lab.yaml">
  <option:providers>
    - name: default
  </option:providers>
  <option:ports>
    - name: desktop
      number: 3389
    - name: console
      number: 22
  </option:ports>
</hastexo_lab>
"""),
    ("hastexo_lab: read-only SSH lab", f"""
<hastexo_lab {_NS} display_name="Watch the lab" stack_user_name="training" stack_template_path="lab.yaml"
             read_only="true">
  <option:providers>
    - name: default
      capacity: -1
  </option:providers>
</hastexo_lab>
"""),
    ("hastexo_lab: lab with two providers", f"""
<hastexo_lab {_NS} display_name="Lab with failover" stack_user_name="training" stack_template_path="lab.yaml">
  <option:providers>
    - name: default
      capacity: 1
    - name: backup
      capacity: -1
  </option:providers>
</hastexo_lab>
"""),
    ("hastexo_lab: lab with progress checks", f"""
<hastexo_lab {_NS} display_name="Checked lab" stack_user_name="training" stack_template_path="lab.yaml"
             weight="2" progress_check_label="Check my work">
  <option:providers>
    - name: default
      capacity: -1
  </option:providers>
  <option:tests>
    - |
      #!/bin/bash
      # The learner was asked to create the file "done" in their home folder.
      test -f ~/done || {{ echo "There is no file called done in your home folder yet." >&amp;2; exit 1; }}
    - |
      # No shebang: run with bash.
      echo "the lab answers" >/dev/null
  </option:tests>
  <html_demo><p>Create a file called <code>done</code> in your home folder, then check your progress.</p></html_demo>
</hastexo_lab>
"""),
]
