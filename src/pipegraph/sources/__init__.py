"""Where code comes from: uploaded source tarballs and one bare git repository per app (`git push`)."""
