"""What tests share: the offline harness, book checks, generators and whole flows. Test
modules import from here, never from one another."""
